// pafc: the interactive Pathfinder debugging client (docs/cli-and-config.md §3).

import { runPafc } from '../cli/pafc/main';

runPafc(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env })
  .then((status) => process.exit(status))
  .catch((err: unknown) => {
    process.stderr.write(`pafc: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
