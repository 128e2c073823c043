// Memory of a process as the kernel counts it, from /proc/<pid>/status.
//
// VmRSS counts every resident page, among them the file-backed pages of
// the node executable and its libraries: tens of MiB that every node
// process shares and that the kernel may drop and read back under
// pressure. RssAnon is the private anonymous part (V8's heap, malloc),
// the part that grows with what the server holds; RssFile is the
// file-backed part (VmRSS = RssAnon + RssFile + RssShmem). RssAnon and
// RssFile exist since Linux 4.5; where a field is missing it is null.

import { readFileSync } from 'node:fs';

/** One `<field>: <n> kB` line of a status text, in MiB, or null. */
function fieldMiB(status, field) {
  const m = new RegExp(`^${field}:\\s*(\\d+)\\s*kB`, 'm').exec(status);
  return m ? Number(m[1]) / 1024 : null;
}

/** VmRSS, RssAnon and RssFile of a process in MiB, from a single read (one consistent moment). */
export function memoryMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssMiB: fieldMiB(status, 'VmRSS'), rssAnonMiB: fieldMiB(status, 'RssAnon'), rssFileMiB: fieldMiB(status, 'RssFile') };
}

/** One field of /proc/<pid>/status in MiB (e.g. VmHWM, the peak RSS), or null. */
export function statusFieldMiB(pid, field) {
  return fieldMiB(readFileSync(`/proc/${pid}/status`, 'utf8'), field);
}
