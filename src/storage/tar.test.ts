import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pack } from 'tar-stream';
import { LocalStorage } from './local-storage.js';
import { expandBraces, selectedFilesOf } from './selected-files.js';
import { indexTar, readTarMember } from './tar.js';

const work = mkdtempSync(join(tmpdir(), 'fruits-tar-test-'));
const storage = new LocalStorage(work);
const LONG = `${'deep-folder-name/'.repeat(8)}an image whose path is longer than one hundred bytes.jpg`;

async function tarStream(entries: { name: string; body?: Buffer; type?: 'directory' }[]): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve) => tar.on('end', () => resolve()));
  for (const e of entries) {
    await new Promise<void>((resolve, reject) =>
      e.type
        ? tar.entry({ name: e.name, type: e.type }, (err) => (err ? reject(err) : resolve()))
        : tar.entry({ name: e.name }, e.body!, (err) => (err ? reject(err) : resolve())),
    );
  }
  tar.finalize();
  await ended;
  return Buffer.concat(chunks);
}

function counting(): { storage: LocalStorage; reads: () => number; bytes: () => number } {
  let reads = 0;
  let bytes = 0;
  const counted = new LocalStorage(work);
  const original = counted.readRange.bind(counted);
  counted.readRange = async (key, start, end) => {
    const out = await original(key, start, end);
    reads++;
    bytes += out.length;
    return out;
  };
  return { storage: counted, reads: () => reads, bytes: () => bytes };
}

describe('indexTar', () => {
  test('tar-stream (pax long names), GNU tar (long-name headers) and POSIX tar: same members, bytes where the index says', async () => {
    const files = [
      { name: 'a/0.jpg', body: Buffer.from('first image') },
      { name: 'a/0.cls', body: Buffer.from('Apple\n') },
      { name: LONG, body: Buffer.alloc(3000, 7) },
      { name: 'b/empty.png', body: Buffer.alloc(0) },
    ];
    writeFileSync(join(work, 'stream.tar'), await tarStream([{ name: 'a', type: 'directory' }, ...files]));
    const src = join(work, 'src');
    for (const f of files) {
      mkdirSync(join(src, f.name, '..'), { recursive: true });
      writeFileSync(join(src, f.name), f.body);
    }
    const names = files.map((f) => f.name);
    execFileSync('tar', ['--format=gnu', '-cf', join(work, 'gnu.tar'), '-C', src, ...names]);
    execFileSync('tar', ['--format=posix', '-cf', join(work, 'posix.tar'), '-C', src, ...names]);
    for (const key of ['stream.tar', 'gnu.tar', 'posix.tar']) {
      const size = readFileSync(join(work, key)).length;
      const index = await indexTar(storage, key, size, { keep: (n) => n.endsWith('.cls') });
      assert.equal(index.damage, undefined, key);
      assert.deepEqual(
        index.members.map((m) => m.name),
        names,
        key,
      );
      for (const [i, member] of index.members.entries()) assert.deepEqual(await readTarMember(storage, key, member), files[i].body, `${key} ${member.name}`);
      assert.equal(index.members[1].data?.toString(), 'Apple\n', `${key}: a kept member's bytes come with the index`);
    }
  });

  test('headers are read in ranges and large members are skipped, not read', async () => {
    const big = Array.from({ length: 20 }, (_, i) => ({ name: `big/${i}.jpg`, body: Buffer.alloc(200_000, i) }));
    const bytes = await tarStream(big);
    writeFileSync(join(work, 'big.tar'), bytes);
    const probe = counting();
    const index = await indexTar(probe.storage, 'big.tar', bytes.length, { rangeSize: 4096 });
    assert.equal(index.members.length, 20);
    assert.ok(probe.bytes() < bytes.length / 20, `read ${probe.bytes()} of ${bytes.length} bytes to index`);
    const small = Array.from({ length: 200 }, (_, i) => ({ name: `small/${i}.jpg`, body: Buffer.alloc(300, i) }));
    const smallBytes = await tarStream(small);
    writeFileSync(join(work, 'small.tar'), smallBytes);
    const probe2 = counting();
    assert.equal((await indexTar(probe2.storage, 'small.tar', smallBytes.length, { rangeSize: 1 << 20 })).members.length, 200);
    assert.equal(probe2.reads(), 1, 'a tar of small members is indexed in one ranged read');
  });

  test('a damaged header ends the index there; a member cut short is returned with its problem', async () => {
    const files = [0, 1, 2].map((i) => ({ name: `x/${i}.jpg`, body: Buffer.alloc(1000, i) }));
    const bytes = await tarStream(files);
    const damaged = Buffer.from(bytes);
    const second = 512 + 1024; // header, 1000 bytes padded to 1024
    damaged[second + 10] ^= 0xff;
    writeFileSync(join(work, 'damaged.tar'), damaged);
    const index = await indexTar(storage, 'damaged.tar', damaged.length);
    assert.deepEqual(
      index.members.map((m) => m.name),
      ['x/0.jpg'],
    );
    assert.equal(index.damage?.offset, second);
    assert.match(index.damage!.message, /damaged \(checksum mismatch\)/);

    const cut = bytes.subarray(0, second + 512 + 400);
    writeFileSync(join(work, 'cut.tar'), cut);
    const cutIndex = await indexTar(storage, 'cut.tar', cut.length);
    assert.deepEqual(
      cutIndex.members.map((m) => [m.name, m.problem !== undefined]),
      [
        ['x/0.jpg', false],
        ['x/1.jpg', true],
      ],
    );
    assert.match(cutIndex.members[1].problem!, /cut short: 1000 bytes announced/);
  });
});

describe('brace patterns and named files', () => {
  test('ranges keep their zero padding, lists and several groups expand in order', () => {
    assert.deepEqual(expandBraces('train-{00000..00003}.tar'), ['train-00000.tar', 'train-00001.tar', 'train-00002.tar', 'train-00003.tar']);
    assert.deepEqual(expandBraces('{train,val}/s-{8..10}.tar'), [
      'train/s-8.tar',
      'train/s-9.tar',
      'train/s-10.tar',
      'val/s-8.tar',
      'val/s-9.tar',
      'val/s-10.tar',
    ]);
    assert.throws(() => expandBraces('a-{0..9.tar'), /unbalanced/);
    assert.throws(() => expandBraces('a-{0..99999999}.tar'), /more than/);
  });

  test('an input URI names files when it has braces or ends in .tar/.parquet; a folder stays a folder', () => {
    assert.deepEqual(selectedFilesOf('s3://bucket/train-{0..1}.tar'), { root: 's3://bucket/', names: ['train-0.tar', 'train-1.tar'] });
    assert.deepEqual(selectedFilesOf('s3://bucket/web/{a,b}/x.tar'), { root: 's3://bucket/web', names: ['a/x.tar', 'b/x.tar'] });
    assert.deepEqual(selectedFilesOf('/data/shards/one.parquet'), { root: '/data/shards', names: ['one.parquet'] });
    assert.deepEqual(selectedFilesOf('one.tar'), { root: '.', names: ['one.tar'] });
    assert.equal(selectedFilesOf('/data/shards/'), undefined);
    assert.equal(selectedFilesOf('s3://bucket/Test'), undefined);
    assert.throws(() => selectedFilesOf('s3://bucket-{0..1}/x.tar'), /give the folder or bucket/);
  });
});
