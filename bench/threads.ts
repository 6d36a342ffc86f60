/**
 * npm run bench:threads — how to spend this machine's cores on the model: sessions (one per pipeline thread)
 * × onnxruntime intra-op threads × batch size, on random batches (no decoding), one setting after the other.
 * The README's "Threads and batch size" table comes from here; the engines' defaults follow the best row.
 * Options: --model PATH, --seconds S per setting (default 15).
 */
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { ensureModel } from '../src/model/provision/index.js';
import { rawThroughput, type RawModelSetting } from './raw-model.js';

const { values } = parseArgs({ options: { model: { type: 'string' }, seconds: { type: 'string' } } });
const modelPath = (await ensureModel({ model: values.model })).path;
const seconds = Number(values.seconds ?? 15);
const cores = availableParallelism();
const settings: RawModelSetting[] = [
  { sessions: 1, threads: 1, batchSize: 16 },
  { sessions: 1, threads: cores, batchSize: 16 },
  { sessions: 1, threads: cores, batchSize: 32 },
  { sessions: cores, threads: 1, batchSize: 8 },
  { sessions: cores, threads: 1, batchSize: 16 },
  { sessions: cores, threads: 1, batchSize: 32 },
];
console.log(`raw model, ${cores} cores (${cpus()[0]?.model}), ${seconds} s per setting, ${new Date().toISOString()}`);
console.log('| setting | images/s |\n| --- | --- |');
for (const setting of settings) {
  const rate = await rawThroughput(modelPath, setting, seconds);
  console.log(`| ${setting.sessions} session(s) × ${setting.threads} onnxruntime thread(s), batch ${setting.batchSize} | ${rate.toFixed(1)} |`);
}
