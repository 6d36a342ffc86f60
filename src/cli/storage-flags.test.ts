import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UsageError } from './command.js';
import { applyStorageFlags } from './storage-flags.js';

describe('--s3-endpoint and --s3-region', () => {
  test('are taken out of the arguments and set the variables the S3 adapter reads', () => {
    const env: NodeJS.ProcessEnv = {};
    const rest = applyStorageFlags(['s3://in/x', '--s3-endpoint', 'http://127.0.0.1:9000', 'out', '--s3-region=eu-central-1', '--quiet'], env);
    assert.deepEqual(rest, ['s3://in/x', 'out', '--quiet']);
    assert.equal(env.AWS_ENDPOINT_URL_S3, 'http://127.0.0.1:9000');
    assert.equal(env.AWS_REGION, 'eu-central-1');
  });

  test('leave the environment alone when absent', () => {
    const env: NodeJS.ProcessEnv = { AWS_REGION: 'eu-west-1' };
    assert.deepEqual(applyStorageFlags(['a', 'b'], env), ['a', 'b']);
    assert.deepEqual(env, { AWS_REGION: 'eu-west-1' });
  });

  test('refuse a missing value, a non-URL, another scheme, credentials in the URL and a malformed region', () => {
    for (const argv of [
      ['--s3-endpoint'],
      ['--s3-endpoint', '--quiet'],
      ['--s3-endpoint', 'localhost:9000x y'],
      ['--s3-endpoint', 'ftp://host'],
      ['--s3-endpoint', 'http://key:secret@host:9000'],
      ['--s3-region', 'paris'],
    ]) {
      assert.throws(() => applyStorageFlags(argv, {}), UsageError, argv.join(' '));
    }
    assert.throws(
      () => applyStorageFlags(['--s3-endpoint', 'http://key:secret@host'], {}),
      (e: Error) => !e.message.includes('secret'),
    );
  });
});
