import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CpuTurns } from './cpu-turns.js';

test('queued work runs in order, spread over event-loop iterations: I/O and timers get their turn in between', async () => {
  const turns = new CpuTurns(0);
  const events: string[] = [];
  const jobs = Array.from({ length: 5 }, (_, i) =>
    turns.run(() => {
      events.push(`job ${i}`);
      // Something the loop would do next (an accepted connection's request, a timer): it must not wait for all 5.
      if (i === 0) setImmediate(() => events.push('next iteration'));
      return i * 10;
    }),
  );
  assert.equal(turns.waiting, 5, 'nothing runs synchronously');
  assert.deepEqual(await Promise.all(jobs), [0, 10, 20, 30, 40]);
  assert.ok(events.indexOf('next iteration') < events.indexOf('job 4'), events.join(', '));
  assert.deepEqual(
    events.filter((e) => e.startsWith('job')),
    ['job 0', 'job 1', 'job 2', 'job 3', 'job 4'],
  );
});

test('several jobs share an iteration within the budget; an exception rejects only its own job', async () => {
  const turns = new CpuTurns(1000);
  let iterations = 0;
  let seen = -1;
  const tick = setInterval(() => iterations++, 0);
  try {
    const results = await Promise.allSettled([
      turns.run(() => (seen = iterations)),
      turns.run(() => {
        throw new Error('malformed');
      }),
      turns.run(() => iterations === seen),
    ]);
    assert.equal(results[0].status, 'fulfilled');
    assert.equal(results[1].status, 'rejected');
    assert.match(String((results[1] as PromiseRejectedResult).reason), /malformed/);
    assert.deepEqual(results[2], { status: 'fulfilled', value: true }, 'the three ran in the same iteration');
  } finally {
    clearInterval(tick);
  }
});
