import { availableParallelism } from 'node:os';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { layout } from '../../dataset/layout.js';
import type { Manifest } from '../../dataset/manifest.js';
import { FEATURE_DIM } from '../../model/feature-extractor.js';
import { pcaModelFromJson } from '../../pca/pca-model.js';
import { commitRun } from '../../pipeline/commit.js';
import { featurizeShard, type FeaturizeResult } from '../../pipeline/featurize.js';
import type { Shard } from '../../dataset/plan.js';
import { projectShard } from '../../pipeline/project.js';
import { discardResults, keptPcaModel, pendingProject, unmarkedShards, unprojectedShards } from '../../pipeline/run-state.js';
import { InvalidJobError } from './job-errors.js';
import { parseJob } from './job-schemas.js';
import { retryOf } from './queue-contract.js';
import type { RunCache, RunHandle } from './run-cache.js';
import { RunClock } from './run-clock.js';
import type { RunScheduler } from './run-scheduler.js';
import { reduceInThread } from './threaded-reduce.js';

/** Progress is sent to Redis at most this often per job: a QueueEvents stream entry each. */
const PROGRESS_INTERVAL_MS = 500;

export interface JobProcessorOptions {
  /** onnxruntime threads for the reduce's eigen-decomposition; default every core (the fleet waits on it). */
  reduceThreads?: number;
  /** What the manifest says ran the job, e.g. `bullmq (3 workers)`. */
  describeEngine: () => Promise<string>;
}

/**
 * What a worker does with one job: validate it, find the run, call the pipeline stage. Every stage is
 * idempotent: parts are named after the shard, so a retried or duplicated job rewrites its own part, and a job
 * whose part is already complete returns at once.
 */
export class JobProcessor {
  constructor(
    private readonly runs: RunCache,
    private readonly scheduler: RunScheduler,
    private readonly log: Logger,
    private readonly options: JobProcessorOptions,
  ) {}

  process = async (job: Job): Promise<unknown> => {
    const parsed = parseJob(job.name, job.data);
    const run = await this.runs.acquire(parsed.runId, parsed.output);
    if (run === 'finished') {
      this.log.info({ runId: parsed.runId, stage: parsed.name, jobId: job.id }, 'run already committed: nothing to do');
      return { skipped: 'run already committed' };
    }
    try {
      switch (parsed.name) {
        case 'featurize':
          return await this.featurize(job, run, parsed.shard);
        case 'reduce':
          return await this.reduce(job, run);
        case 'project':
          return await this.project(run, parsed.shard);
        case 'commit':
          return await this.commit(job, run);
      }
    } finally {
      this.runs.release(run);
    }
  };

  private shard(run: RunHandle, index: number): Shard {
    const shard = run.plan.shards[index];
    if (!shard) throw new InvalidJobError(`run ${run.runId} has no shard ${index} (it has ${run.plan.shards.length})`);
    return shard;
  }

  private async featurize(job: Job, run: RunHandle, index: number): Promise<FeaturizeResult> {
    const shard = this.shard(run, index);
    const { runId } = run;
    if (await run.output.exists(layout.featurized(index))) {
      this.log.info({ runId, stage: 'featurize', shard: index }, 'shard already featurized: duplicate job skipped');
      return JSON.parse((await run.output.read(layout.featurized(index))).toString()) as FeaturizeResult;
    }
    const context = await this.runs.context(run);
    const started = performance.now();
    let images = 0;
    let errors = 0;
    let sent = 0;
    const result = await featurizeShard(context, shard, (n, e) => {
      images += n;
      errors += e;
      const now = performance.now();
      if (now - sent >= PROGRESS_INTERVAL_MS || images === shard.keys.length) {
        sent = now;
        // Not awaited: while Redis is down the update waits for the reconnection, the shard goes on.
        job.updateProgress({ images, errors }).catch(() => {});
      }
    });
    const seconds = (performance.now() - started) / 1000;
    this.log.info(
      {
        runId,
        stage: 'featurize',
        shard: index,
        images: shard.keys.length,
        features: result.images,
        errors: result.errors,
        seconds: round(seconds),
        imagesPerSecond: round(shard.keys.length / seconds),
        inferenceMs: Math.round(result.timings.inference),
      },
      'shard featurized',
    );
    return result;
  }

  private async reduce(job: Job, run: RunHandle): Promise<{ k: number; projectShards: number }> {
    const { plan, output, runId } = run;
    const missing = await unmarkedShards(output, plan);
    if (missing.length > 0) {
      throw new Error(`cannot fit the PCA: ${missing.length} shard(s) not featurized (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''})`);
    }
    const previous = await RunClock.readReduce(output);
    let k: number;
    let timing = { mergeMs: previous?.mergeMs ?? 0, fitMs: previous?.fitMs ?? 0 };
    const kept = await keptPcaModel(output);
    if (kept) {
      // A re-run reduce (its worker died after writing the model), a resumed run: the rule of keptPcaModel.
      k = kept.k;
    } else {
      await discardResults(output, plan);
      const reduced = await reduceInThread({
        output: output.uri,
        spec: plan.spec,
        shards: plan.shards.map((s) => s.index),
        dim: FEATURE_DIM,
        threads: this.options.reduceThreads ?? availableParallelism(),
      });
      k = reduced.k;
      timing = { mergeMs: reduced.mergeMs, fitMs: reduced.fitMs };
    }
    // A late duplicate of this job (its lock was lost while Redis was away) may find the run committed and
    // _tmp/ gone: writing now would leave scratch files in a finished output.
    if (await output.exists(layout.success)) return { k, projectShards: 0 };
    const projectShards = (await pendingProject(output, plan)).shards;
    await RunClock.writeReduce(output, {
      featurizeMs: previous?.featurizeMs ?? (job.processedOn ?? Date.now()) - job.timestamp,
      ...timing,
      finishedAt: Date.now(),
      projectShards,
    });
    // The second flow (commit ← project shards) can only be added now: flows fan in, they do not chain.
    await this.scheduler.addFlow(plan, 'commit', 'project', projectShards, retryOf(job.opts));
    this.log.info({ runId, stage: 'reduce', k, mergeMs: Math.round(timing.mergeMs), fitMs: Math.round(timing.fitMs), projectShards: projectShards.length }, 'pca fitted');
    return { k, projectShards: projectShards.length };
  }

  private async project(run: RunHandle, index: number): Promise<{ shard: number; rows: number | null }> {
    this.shard(run, index);
    if (await run.output.exists(layout.results(index))) return { shard: index, rows: null };
    const started = performance.now();
    const { rows } = await projectShard(run.output, await this.runs.projection(run), index);
    this.log.info({ runId: run.runId, stage: 'project', shard: index, rows, seconds: round((performance.now() - started) / 1000) }, 'shard projected');
    return { shard: index, rows };
  }

  private async commit(job: Job, run: RunHandle): Promise<Pick<Manifest, 'runId' | 'counts'>> {
    const { plan, output, runId } = run;
    if (await output.exists(layout.success)) {
      const manifest = JSON.parse((await output.read(layout.manifest)).toString()) as Manifest;
      return { runId: manifest.runId, counts: manifest.counts };
    }
    const missing = await unprojectedShards(output, plan);
    if (missing.length > 0) throw new Error(`cannot commit: ${missing.length} shard(s) not projected (${missing.slice(0, 5).join(', ')})`);
    const [pcaText, startedAt, reduced, context] = await Promise.all([
      output.read(layout.pcaModel),
      RunClock.startedAt(output),
      RunClock.readReduce(output),
      this.runs.context(run),
    ]);
    const manifest = await commitRun(output, {
      plan,
      model: context.extractor.info,
      pca: pcaModelFromJson(pcaText.toString()),
      engine: await this.options.describeEngine(),
      // commitRun measures the total against performance.now(); the run began in another process.
      startedAt: performance.now() - (Date.now() - (startedAt ?? job.timestamp)),
      timings: {
        featurizeMs: reduced?.featurizeMs ?? 0,
        pcaMergeMs: reduced?.mergeMs ?? 0,
        pcaFitMs: reduced?.fitMs ?? 0,
        projectMs: (job.processedOn ?? Date.now()) - job.timestamp,
      },
    });
    this.log.info({ runId, stage: 'commit', images: manifest.counts.features, errors: manifest.counts.errors, seconds: round(manifest.timings.totalMs / 1000) }, 'run committed');
    await this.runs.finish(runId);
    return { runId, counts: manifest.counts };
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
