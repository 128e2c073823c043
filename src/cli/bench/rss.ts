// The server's memory (--pid): resident set size and its peak, as Linux
// reports them in /proc/<pid>/status (VmRSS, VmHWM, in kB).

import { readFile } from 'node:fs/promises';

export interface MemorySample {
  rssKiB: number;
  /** Highest RSS so far; undefined if the kernel does not report it. */
  peakKiB: number | undefined;
}

function field(status: string, name: string): number | undefined {
  const m = new RegExp(`^${name}:\\s*(\\d+)\\s*kB`, 'm').exec(status);
  return m ? Number(m[1]) : undefined;
}

/** Parses the text of /proc/<pid>/status; throws if VmRSS is missing. Pure. */
export function parseProcStatus(status: string): MemorySample {
  const rssKiB = field(status, 'VmRSS');
  if (rssKiB === undefined) throw new Error('no VmRSS line (is it a kernel thread or a zombie?)');
  return { rssKiB, peakKiB: field(status, 'VmHWM') };
}

/** Reads the memory of process `pid`. */
export async function readMemory(pid: number): Promise<MemorySample> {
  const path = `/proc/${pid}/status`;
  try {
    return parseProcStatus(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}
