import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { describeIssues } from './issues.js';

test('describeIssues: "path: message" joined by "; ", the root named for an issue without a path, at most `limit`', () => {
  const schema = z.object({ a: z.number(), b: z.object({ c: z.string() }) });
  const error = schema.safeParse({ a: 'x', b: { c: 1 } }).error!;
  assert.equal(describeIssues(error, 'data'), 'a: Invalid input: expected number, received string; b.c: Invalid input: expected string, received number');
  assert.equal(describeIssues(error, 'data', { limit: 1 }), 'a: Invalid input: expected number, received string');
  assert.equal(describeIssues(z.number().safeParse('x').error!, 'data'), 'data: Invalid input: expected number, received string');
  assert.equal(describeIssues(error, 'data', { message: () => 'wrong' }), 'a: wrong; b.c: wrong');
});
