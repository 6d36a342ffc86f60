// Preloaded into the benchmarked `fruits extract`: reports the process' peak memory (all threads) on exit.
import { writeFileSync } from 'node:fs';
process.on('exit', () => {
  if (process.env.FRUITS_BENCH_USAGE) writeFileSync(process.env.FRUITS_BENCH_USAGE, JSON.stringify(process.resourceUsage()));
});
