/**
 * Listing before and after issue 13 item 2, in one process on the same data: the planner's old sequential
 * `Storage.list()` of the whole root against `listParallel` (class folders side by side, each paginated on its own).
 *
 *   node --import tsx bench/listing.ts [--files 100000] [--classes 100] [--s3-keys 20000] [--concurrency 16] [--rounds 3]
 *
 * The local folder is generated under the system temp folder (never in the repository) and removed at the end;
 * the S3 case runs against an in-process s3rver (test/support/s3-server.ts). Rounds alternate the order of the two
 * methods so neither always gets the warmer cache; the median of each is reported.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { listParallel } from '../src/storage/list-parallel.js';
import { LocalStorage } from '../src/storage/local-storage.js';
import { S3Storage } from '../src/storage/s3-storage.js';
import type { Storage } from '../src/storage/storage.js';
import { S3RVER_ENV, startS3Server } from '../test/support/s3-server.js';

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '100000' },
    classes: { type: 'string', default: '100' },
    's3-keys': { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
  },
});
const files = Number(values.files);
const classes = Number(values.classes);
const s3Keys = Number(values['s3-keys']);
const concurrency = Number(values.concurrency);
const rounds = Number(values.rounds);

async function sequential(storage: Storage): Promise<number> {
  let n = 0;
  for await (const _ of storage.list()) n++;
  return n;
}

async function parallel(storage: Storage): Promise<number> {
  return (await listParallel(storage, { concurrency })).length;
}

async function compare(name: string, storage: Storage, expected: number): Promise<void> {
  const times: Record<'sequential' | 'parallel', number[]> = { sequential: [], parallel: [] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['sequential', 'parallel'] as const) : (['parallel', 'sequential'] as const);
    for (const method of order) {
      const start = performance.now();
      const n = await (method === 'sequential' ? sequential(storage) : parallel(storage));
      times[method].push(performance.now() - start);
      if (n !== expected) throw new Error(`${name} ${method}: listed ${n}, expected ${expected}`);
    }
  }
  const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const [before, after] = [median(times.sequential), median(times.parallel)];
  console.log(
    `${name}: ${expected.toLocaleString('en-US')} objects in ${classes} class folders | before (sequential list) ${(before / 1000).toFixed(2)} s | ` +
      `after (listParallel, ${concurrency} at once) ${(after / 1000).toFixed(2)} s | ${(before / after).toFixed(2)}x | ` +
      `rounds ${times.sequential.map((t) => (t / 1000).toFixed(2)).join('/')} vs ${times.parallel.map((t) => (t / 1000).toFixed(2)).join('/')} s | ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
}

const root = mkdtempSync(join(tmpdir(), 'fruits-bench-listing-'));
try {
  const perClass = Math.ceil(files / classes);
  let written = 0;
  for (let c = 0; c < classes && written < files; c++) {
    const folder = join(root, `Class ${String(c).padStart(3, '0')}`);
    mkdirSync(folder);
    for (let i = 0; i < perClass && written < files; i++, written++) writeFileSync(join(folder, `${i}_100.jpg`), 'x');
  }
  console.log(
    `generated ${written.toLocaleString('en-US')} files under ${root}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  await compare('local folder', new LocalStorage(root), written);

  if (s3Keys > 0) {
    Object.assign(process.env, S3RVER_ENV, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3']) delete process.env[name];
    const server = await startS3Server(['fruits-bench']);
    try {
      const bucket = new S3Storage('s3://fruits-bench/Test', { s3Endpoint: server.endpoint });
      const keys = Array.from({ length: s3Keys }, (_, i) => `Class ${String(i % classes).padStart(3, '0')}/${Math.floor(i / classes)}_100.jpg`);
      const started = performance.now();
      for (let i = 0; i < keys.length; i += 64) await Promise.all(keys.slice(i, i + 64).map((k) => bucket.write(k, 'x')));
      console.log(`uploaded ${keys.length.toLocaleString('en-US')} keys to s3rver in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      await compare('s3rver', bucket, keys.length);
    } finally {
      await server.close();
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
