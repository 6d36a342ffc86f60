import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AccessPolicy } from '../../src/engine/bullmq/access-policy.js';
import { RedisTarget, redactSecrets } from '../../src/engine/bullmq/connection.js';
import { EmfMetrics } from '../../src/engine/bullmq/emf-metrics.js';
import { RedisUrlError } from '../../src/engine/bullmq/errors.js';
import { InvalidJobError } from '../../src/engine/bullmq/errors.js';
import { parseJob } from '../../src/engine/bullmq/job-schemas.js';
import { jobId, parseJobId, QUEUE_NAME, QUEUE_PREFIX } from '../../src/engine/bullmq/queue-contract.js';
import { RunMonitor } from '../../src/engine/bullmq/run-monitor.js';
import type { RunEvent } from '../../src/engine/engine.js';
import type { Plan } from '../../src/dataset/plan.js';
import type { Storage } from '../../src/storage/storage.js';

describe('Redis URL', () => {
  test('redis:// and rediss:// with password, user, port and db; the password never shows', () => {
    const plain = RedisTarget.parse('redis://:s3cr%40t@cache.example.com:6380/2');
    assert.equal(plain.redacted, 'redis://:***@cache.example.com:6380/2');
    assert.equal(String(plain), plain.redacted);
    const options = plain.options();
    assert.deepEqual(
      { host: options.host, port: options.port, db: options.db, password: options.password, tls: options.tls, retries: options.maxRetriesPerRequest },
      { host: 'cache.example.com', port: 6380, db: 2, password: 's3cr@t', tls: undefined, retries: null },
    );
    const tls = RedisTarget.parse('rediss://user:pw@master.x.euw3.cache.amazonaws.com');
    assert.equal(tls.redacted, 'rediss://user:***@master.x.euw3.cache.amazonaws.com:6379');
    assert.deepEqual(tls.options().tls, { servername: 'master.x.euw3.cache.amazonaws.com' });
    assert.equal(tls.options().username, 'user');
    assert.equal(RedisTarget.parse('redis://[::1]:7000').redacted, 'redis://[::1]:7000');
    assert.equal(RedisTarget.parse('redis://localhost').options().password, undefined);
  });

  test('--redis wins over FRUITS_REDIS_URL, which is the default; neither gives undefined', () => {
    assert.equal(RedisTarget.fromOption(undefined, { FRUITS_REDIS_URL: 'redis://env:1' })?.redacted, 'redis://env:1');
    assert.equal(RedisTarget.fromOption('redis://flag:2', { FRUITS_REDIS_URL: 'redis://env:1' })?.redacted, 'redis://flag:2');
    assert.equal(RedisTarget.fromOption(undefined, {}), undefined);
  });

  test('bad URLs are refused without echoing the password', () => {
    for (const url of ['http://:pw@host:1', 'redis://:pw@', 'redis://:pw@host/x', 'not a url :pw@']) {
      assert.throws(
        () => RedisTarget.parse(url),
        (e: Error) => e instanceof RedisUrlError && !e.message.includes('pw@'),
      );
    }
  });

  test('redactSecrets hides the password of every redis URL in a text', () => {
    assert.equal(
      redactSecrets('a redis://:abc@h:1 b rediss://u:p%40ss@h2:6379/1 c redis://h3:1'),
      'a redis://:***@h:1 b rediss://u:***@h2:6379/1 c redis://h3:1',
    );
  });
});

describe('queue contract', () => {
  test('prefix fruits, one queue shards, job ids that name the run, the stage and the shard', () => {
    assert.equal(`${QUEUE_PREFIX}:${QUEUE_NAME}:wait`, 'fruits:shards:wait');
    assert.equal(jobId.featurize('20261124-101010-abc123', 7), '20261124-101010-abc123.featurize.7');
    assert.deepEqual(parseJobId(jobId.project('r-1', 3)), { runId: 'r-1', name: 'project', shard: 3 });
    assert.deepEqual(parseJobId(jobId.commit('r-1')), { runId: 'r-1', name: 'commit', shard: undefined });
    assert.equal(parseJobId('123'), undefined);
    assert.equal(parseJobId('r.evil.1'), undefined);
  });

  test('job payloads are validated strictly', () => {
    assert.deepEqual(parseJob('featurize', { runId: 'r1', output: 's3://b/runs/x', shard: 0 }), {
      name: 'featurize',
      runId: 'r1',
      output: 's3://b/runs/x',
      shard: 0,
    });
    assert.deepEqual(parseJob('commit', { runId: 'r1', output: '/data/x' }), { name: 'commit', runId: 'r1', output: '/data/x' });
    for (const [name, data] of [
      ['featurize', { runId: 'r1', output: '/x', shard: 1.5 }],
      ['featurize', { runId: 'r1', output: '/x\n{"level":60}', shard: 1 }],
      ['featurize', { runId: 'r1', output: '', shard: 1 }],
      ['commit', { runId: 'r1', output: '/x', extra: true }],
      ['commit', null],
      ['obliterate', { runId: 'r1', output: '/x' }],
    ] as const) {
      assert.throws(() => parseJob(name, data), InvalidJobError, `${name} ${JSON.stringify(data)}`);
    }
  });

  test('the EMF line is the one the CloudWatch alarms read', () => {
    const line = JSON.parse(EmfMetrics.line(7, 1_700_000_000_000));
    assert.deepEqual(line, {
      _aws: {
        Timestamp: 1_700_000_000_000,
        CloudWatchMetrics: [{ Namespace: 'Fruits', Dimensions: [['Queue']], Metrics: [{ Name: 'PendingShards', Unit: 'Count' }] }],
      },
      Queue: 'shards',
      PendingShards: 7,
    });
  });
});

describe('--allow prefixes', () => {
  test('local paths are compared resolved, s3 URIs on whole segments', () => {
    const policy = new AccessPolicy(['/data/runs/', 's3://bucket/input']);
    policy.check('/data/runs/x', 'output');
    policy.check('/data/runs', 'output');
    policy.check('s3://bucket/input/Test', 'input');
    policy.check('s3://bucket/input', 'input');
    for (const uri of ['/data/runs/../etc', '/data/runsX', 's3://bucket/inputs', 's3://bucket/input/../runs', 's3://other/input/x', 'relative/path']) {
      assert.throws(() => policy.check(uri, 'output'), /outside the prefixes|segment/, uri);
    }
    assert.throws(() => new AccessPolicy([]), /at least one allowed prefix/);
  });

  test('--allow, else FRUITS_ALLOW (comma-separated), else the current directory: never "anything"', () => {
    assert.deepEqual(AccessPolicy.resolve(['/a', 's3://b/c/'], 's3://ignored', '/cwd').allowed, ['/a', 's3://b/c']);
    const env = AccessPolicy.resolve(undefined, ' s3://bucket/runs , /data/in ,', '/cwd');
    assert.deepEqual([env.allowed, env.source], [['s3://bucket/runs', '/data/in'], 'FRUITS_ALLOW']);
    const fallback = AccessPolicy.resolve([], '', '/home/me/work');
    assert.deepEqual([fallback.allowed, fallback.source], [['/home/me/work'], 'default']);
    fallback.check('/home/me/work/runs/a', 'output');
    assert.throws(
      () => fallback.check('/etc', 'input'),
      /input \/etc is outside the prefixes this worker accepts \(\/home\/me\/work: the worker's current directory, the default\); to accept it, start the worker with --allow \/etc \(or FRUITS_ALLOW=\/etc\)/,
    );
    assert.throws(() => env.check('s3://other/x', 'output'), /--allow s3:\/\/other /);
    assert.ok(AccessPolicy.resolve(['/'], undefined, '/cwd').anyLocalPath);
  });
});

describe('RunMonitor', () => {
  test('queue events of its run become the RunEvents of the local engine; other runs and repeats are ignored', async () => {
    const plan = {
      spec: { runId: 'r1' },
      images: 20,
      shards: [0, 1, 2].map((index) => ({ index, keys: Array(index === 2 ? 4 : 8).fill('k') })),
    } as unknown as Plan;
    const storage = { exists: async () => false, read: async () => Buffer.from(JSON.stringify({ projectShards: [0, 1, 2] })) } as unknown as Storage;
    const events: RunEvent[] = [];
    const monitor = new RunMonitor(plan, storage, (e) => events.push(e));
    await monitor.begin({ stage: 'featurize', shards: [0, 1, 2] });
    monitor.onEvent('progress', 'r1.featurize.0', { images: 4, errors: 1 });
    monitor.onEvent('progress', 'r1.featurize.0', { images: 4, errors: 1 });
    monitor.onEvent('progress', 'other.featurize.0', { images: 8, errors: 0 });
    monitor.onEvent('completed', 'r1.featurize.0', { errors: 1 });
    monitor.onEvent('completed', 'r1.featurize.1', { errors: 0 });
    // A project event before the reduce's completion was seen: the monitor moves through pca first.
    monitor.onEvent('completed', 'r1.project.1', {});
    await monitor.moveTo('commit');
    const summary = events.map((e) =>
      e.type === 'stage' ? `${e.stage}:${e.shards}/${e.images}` : e.type === 'progress' ? `+${e.images}/${e.errors}` : `done ${e.shard}`,
    );
    assert.deepEqual(summary, [
      'featurize:3/20',
      '+4/1',
      '+4/0',
      'done 0',
      '+8/0',
      'done 1',
      '+4/0', // shard 2's completion was never seen: counted when the stage ends
      'done 2',
      'pca:3/20',
      'project:3/20',
      '+8/0',
      'done 1',
      '+8/0',
      'done 0',
      '+4/0',
      'done 2',
      'commit:3/20',
    ]);
  });
});

describe('command line', () => {
  test('worker, status and extract --help explain every distributed option with its default', async () => {
    const { workerCommand } = await import('../../src/cli/commands/worker.js');
    const { statusCommand } = await import('../../src/cli/commands/status.js');
    const { extractCommand } = await import('../../src/cli/commands/extract.js');
    const expect = {
      worker: [
        workerCommand.help,
        [
          '--redis',
          '--concurrency',
          '--threads',
          '--allow',
          '--lock-ms',
          '--stalled-ms',
          '--grace-ms',
          '--metrics-interval-ms',
          '--name',
          'FRUITS_REDIS_URL',
          'SIGTERM',
        ],
      ],
      status: [statusCommand.help, ['RUN_ID', '--redis', '--runs', '--json', '--dashboard', '--port', '--host', 'FRUITS_REDIS_URL']],
      extract: [
        extractCommand.help,
        [
          '--engine',
          '--redis',
          '--detach',
          '--attempts',
          '--backoff-ms',
          '--run-id',
          '--resume RUN_ID',
          'FRUITS_METRICS_INTERVAL_MS',
          '--workers',
          '--shard-size',
        ],
      ],
    } as const;
    for (const [name, [help, words]] of Object.entries(expect)) for (const word of words) assert.ok(help.includes(word), `${name} --help lacks ${word}`);
    for (const help of [workerCommand.help, statusCommand.help]) {
      for (const line of help.split('\n').filter((l) => /^ {2}--[a-z-]+ /.test(l) && !/--(json|dashboard)\b/.test(l))) {
        assert.match(help.slice(help.indexOf(line)).split(/\n {2}--/)[0], /default|repeatable/, `no default in: ${line}`);
      }
    }
  });

  test('distributed options are checked before anything runs', async () => {
    const { extractCommand } = await import('../../src/cli/commands/extract.js');
    const { workerCommand } = await import('../../src/cli/commands/worker.js');
    const saved = process.env.FRUITS_REDIS_URL;
    delete process.env.FRUITS_REDIS_URL;
    try {
      await assert.rejects(extractCommand.run(['in', 'out', '--engine', 'bullmq']), /UsageError|needs a Redis/);
      await assert.rejects(extractCommand.run(['in', 'out', '--engine', 'spark']), /--engine must be local or bullmq/);
      await assert.rejects(extractCommand.run(['in', 'out', '--redis', 'redis://h:1']), /--redis needs --engine bullmq/);
      // Every option of the help's distributed section (the list comes from the declarations).
      for (const flag of [
        ['--detach'],
        ['--attempts', '2'],
        ['--backoff-ms', '5'],
        ['--redis-timeout', '5s'],
        ['--reduce-fan-in', '4'],
        ['--enqueue-batch', '9'],
        ['--run-id', 'r1'],
      ])
        await assert.rejects(extractCommand.run(['in', 'out', ...flag]), new RegExp(`${flag[0]} needs --engine bullmq`));
      await assert.rejects(extractCommand.run(['in', 'out', '--engine', 'bullmq', '--redis', 'redis://h:1', '--workers', '2']), /size the fleet/);
      await assert.rejects(extractCommand.run(['--engine', 'bullmq', '--redis', 'redis://h:1', '--run-id', 'r1']), /give --resume too/);
      await assert.rejects(extractCommand.run(['in', '--engine', 'bullmq', '--redis', 'redis://h:1']), /expected <input> and <output>/);
      await assert.rejects(workerCommand.run([]), /no Redis/);
      await assert.rejects(workerCommand.run(['--redis', 'http://:pw@h:1']), (e: Error) => /unsupported scheme/.test(e.message) && !e.message.includes('pw'));
    } finally {
      if (saved !== undefined) process.env.FRUITS_REDIS_URL = saved;
    }
  });
});
