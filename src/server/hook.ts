// The -r start-up hook (docs/cli-and-config.md §1.7): the original imports a
// Python module; we load a JavaScript module, `<file>[#<export>]`, and call
// the export (default `run`) once, after every socket is bound, with one
// plain description per domain. An exception (or rejected promise) in the
// hook stops pafd with exit status 1, as in the original.

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DomainServer } from './domain';

export interface DomainHandle {
  name: string | undefined;
  addresses: string[];
}

export async function runHook(spec: string, domains: readonly DomainServer[]): Promise<void> {
  const hash = spec.lastIndexOf('#');
  const file = hash > 0 ? spec.slice(0, hash) : spec;
  const exportName = hash > 0 ? spec.slice(hash + 1) : 'run';
  const mod = await import(pathToFileURL(resolve(file)).href);
  const fn = mod[exportName] ?? mod.default?.[exportName];
  if (typeof fn !== 'function') throw new Error(`hook ${file} has no function "${exportName}"`);
  const handles: DomainHandle[] = domains.map((d) => ({ name: d.settings.name, addresses: d.listeners.map((l) => l.address) }));
  await fn(handles);
}
