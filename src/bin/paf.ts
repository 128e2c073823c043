// The board executable: pafd, pafc and pafbench in one single executable
// application (build/package.mjs). Each program embeds the whole Node
// binary, so one executable that becomes the program it is called as
// (/usr/bin/pafc -> ../lib/paf/pafd) ships the three for the size of one;
// docs/PACKAGING.md has the measurement.
//
// The name is the base name of argv[0] as the caller gave it (a symlink's
// own name; process.execPath is already resolved). Any other name runs
// pafd, so the executable keeps working when copied or renamed.

import { basename } from 'node:path';

const program = basename(process.argv0);

if (program === 'pafc') {
  void import('./pafc');
} else if (program === 'pafbench') {
  void import('./pafbench');
} else {
  void import('./pafd');
}
