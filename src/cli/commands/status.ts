import { Queue } from 'bullmq';
import {
  QUEUE_NAME,
  QUEUE_PREFIX,
  QueueDashboard,
  type QueueReport,
  QueueStatus,
  redactSecrets,
  RedisTarget,
  RedisUnreachableError,
  RunRegistry,
  type RunReport,
} from '../../index.js';
import { UsageError, type Command } from '../command.js';
import { defineOptions } from '../option-table.js';
import { intOption } from '../options.js';

const OPTIONS = defineOptions(
  {
    redis: { type: 'string', value: 'URL', help: "the queue's Redis (default: FRUITS_REDIS_URL); the password is never printed" },
    runs: { type: 'string', value: 'N', help: 'how many recent runs to show (default 5)' },
    json: { type: 'boolean', help: 'print the report as JSON' },
    dashboard: { type: 'boolean', help: 'serve bull-board, a read-only web UI of the queue, until Ctrl-C' },
    port: { type: 'string', value: 'N', help: 'port of the dashboard (default 3000; 0 = any free port)' },
    host: { type: 'string', value: 'HOST', help: 'address the dashboard listens on (default 127.0.0.1: reach it through a tunnel)' },
  },
  { arguments: { RUN_ID: 'show only this run (default: the most recent runs)' } },
);

const HELP = `Usage: fruits status [RUN_ID] [options]

The state of distributed runs: the queue (\`fruits:shards\`: waiting, active, delayed, failed… and PendingShards,
the value the workers are scaled on), the live workers, and for each run its progress (shards featurized and
projected, read from its output storage), its jobs in Redis, and the reason of every failed job.
A run is complete (_SUCCESS written), running (jobs queued or in hand), failed (a shard failed all its
attempts: fix the cause, then \`fruits extract … --resume\`), or stopped (nothing queued, not complete:
\`fruits extract --resume RUN_ID --engine bullmq\` queues the rest).

${OPTIONS.help()}

Exit codes: 0 shown, 1 Redis unreachable or the run is unknown, 2 bad usage.
`;

export const statusCommand: Command = {
  name: 'status',
  summary: 'distributed runs: queue depth, workers, progress, failures (or a web dashboard)',
  help: HELP,
  options: [OPTIONS],
  async run(argv) {
    const { values, positionals } = OPTIONS.parse(argv);
    if (positionals.length > 1) throw new UsageError('expected at most one RUN_ID');
    const redis = RedisTarget.fromOption(values.redis);
    if (!redis) throw new UsageError('no Redis: give --redis redis://host:6379 or set FRUITS_REDIS_URL');
    const runs = intOption('runs', values.runs, 5);
    const port = intOption('port', values.port, 3000, 0);

    // Fail fast: a status that waits forever for an unreachable Redis tells nothing.
    const queue = new Queue(QUEUE_NAME, { connection: redis.options({ name: 'fruits-status', failFast: true }), prefix: QUEUE_PREFIX });
    let lastError = '';
    queue.on('error', (error: Error) => (lastError = error.message));
    try {
      const unreachable = (why: string, cause?: unknown) =>
        new RedisUnreachableError(`cannot reach Redis at ${redis.redacted}${why ? `: ${why}` : ''}`, { cause });
      await Promise.race([
        queue.waitUntilReady().catch((error: Error) => {
          throw unreachable(error.message, error);
        }),
        new Promise((_, reject) =>
          setTimeout(
            () =>
              reject(
                unreachable(
                  `no answer within 5 s${lastError ? ` (${lastError})` : ''}` +
                    (redis.tls ? '; a rediss:// (TLS) URL for a Redis without TLS looks like this: try redis://' : ''),
                ),
              ),
            5000,
          ).unref(),
        ),
      ]);
      if (values.dashboard) return await serveDashboard(queue, port, values.host);
      const report = await new QueueStatus(queue, new RunRegistry(queue), redis.redacted).report({ runId: positionals[0], runs });
      if (positionals[0] && report.runs.length === 0) {
        process.stderr.write(`fruits status: no run ${positionals[0]} in the queue's records at ${redis.redacted}\n`);
        return 1;
      }
      process.stdout.write(redactSecrets(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report)));
      return 0;
    } catch (error) {
      // Errors of the Redis client name the host and port, never the password; redact anyway, by principle.
      if (error instanceof Error) error.message = redactSecrets(error.message);
      throw error;
    } finally {
      await Promise.race([queue.disconnect().catch(() => {}), new Promise((r) => setTimeout(r, 1000).unref())]);
      // A TLS handshake or reconnection still pending must not keep a finished status alive (the exit code is
      // already set by then).
      setTimeout(() => process.exit(), 1000).unref();
    }
  },
};

async function serveDashboard(queue: Queue, port: number, host: string | undefined): Promise<number> {
  const dashboard = await QueueDashboard.start(queue, { port, host });
  process.stderr.write(`dashboard of ${QUEUE_PREFIX}:${QUEUE_NAME} (read-only) at ${dashboard.url} — Ctrl-C to stop\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await dashboard.close();
  return 0;
}

function formatReport(report: QueueReport): string {
  const c = report.counts;
  const lines = [
    `redis      ${report.redis}`,
    `queue      ${report.queue}: PendingShards ${report.pendingShards} (waiting ${c.waiting ?? 0}, active ${c.active ?? 0}), ` +
      `delayed ${c.delayed ?? 0}, waiting-children ${c['waiting-children'] ?? 0}, failed ${c.failed ?? 0}, completed ${c.completed ?? 0}`,
    `workers    ${report.workers.length === 0 ? 'none connected' : `${report.workers.length}: ${report.workers.map((w) => `${w.name} (idle ${w.idleSeconds}s)`).join(', ')}`}`,
  ];
  if (report.workers.length === 0 && report.pendingShards > 0)
    lines.push('           jobs are waiting and no worker is connected: start `fruits worker` on some machines');
  if (report.runs.length === 0) lines.push('runs       none recorded');
  for (const run of report.runs) lines.push('', ...formatRun(run));
  return `${lines.join('\n')}\n`;
}

function formatRun(run: RunReport): string[] {
  const lines = [`run        ${run.runId}  ${run.state.toUpperCase()}  (submitted ${run.submittedAt})`, `input      ${run.input}`, `output     ${run.output}`];
  if (run.manifest) {
    lines.push(
      `result     ${run.manifest.counts.features} with features, ${run.manifest.counts.errors} failed images, ` +
        `${run.manifest.throughput.imagesPerSecond.toFixed(1)} images/s, completed ${run.manifest.completedAt}`,
    );
  } else if (run.storageError) {
    lines.push(`progress   storage unreadable: ${run.storageError}`);
  } else {
    lines.push(`progress   ${run.featurized}/${run.shards} shards featurized, ${run.projected}/${run.shards} projected (${run.images} images)`);
  }
  const jobs = Object.entries(run.jobs).map(([state, n]) => `${state} ${n}`);
  if (jobs.length > 0) lines.push(`jobs       ${jobs.join(', ')}`);
  for (const f of run.failures) {
    lines.push(`failed     ${f.shard !== undefined ? `shard ${f.shard} (${f.stage})` : f.stage}, ${f.attempts} attempt(s): ${f.reason}`);
  }
  if (run.state === 'stopped') lines.push(`resume     fruits extract --resume ${run.runId} --engine bullmq`);
  if (run.state === 'failed') lines.push(`resume     fix the cause, then: fruits extract --resume ${run.runId} --engine bullmq`);
  return lines;
}
