// pafbench: the Pathfinder micro-benchmark (docs/cli-and-config.md §4).

import { runBench } from '../cli/bench/main';

runBench(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env })
  .then((status) => process.exit(status))
  .catch((err: unknown) => {
    process.stderr.write(`pafbench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
