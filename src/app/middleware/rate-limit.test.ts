import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBuckets } from './rate-limit.js';

test('token bucket: burst of N, then Retry-After until tokens refill', () => {
  let now = 0;
  const buckets = new TokenBuckets(2, () => now);
  assert.equal(buckets.take('a'), 0);
  assert.equal(buckets.take('a'), 0);
  assert.equal(buckets.take('a'), 30, 'one token per 30 s at 2 per minute');
  assert.equal(buckets.take('b'), 0, 'clients have their own buckets');
  now += 30_000;
  assert.equal(buckets.take('a'), 0);
  now += 10 * 60_000;
  buckets.take('c');
  assert.equal(buckets.size, 1, 'full buckets are forgotten');
});
