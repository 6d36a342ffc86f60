import { availableParallelism } from 'node:os';
import { DelayedError, WaitingChildrenError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { layout } from '../../dataset/layout.js';
import type { Manifest } from '../../dataset/manifest.js';
import { FEATURE_DIM } from '../../model/feature-extractor.js';
import { ReduceTree } from '../../pca/moments-tree.js';
import { pcaModelFromJson } from '../../pca/pca-model.js';
import { commitRun } from '../../pipeline/commit.js';
import type { FeaturizeResult } from '../../dataset/featurize-marker.js';
import { featurizeShard } from '../../pipeline/featurize.js';
import type { Shard } from '../../dataset/plan.js';
import { projectShard } from '../../pipeline/project.js';
import { mergeTreeNode, treeInputKey } from '../../pipeline/reduce.js';
import { discardResults, keptPcaModel, pendingProject, unmarkedShards, unprojectedShards } from '../../pipeline/run-state.js';
import { InvalidJobError } from './errors.js';
import { parseJob } from './job-schemas.js';
import { retryOf } from './queue-contract.js';
import type { RunCache, RunHandle } from './run-cache.js';
import { RunClock } from './run-clock.js';
import type { RunScheduler } from './run-scheduler.js';
import { reduceInThread } from './threaded-reduce.js';
import { readManifest, readMarker } from '../../dataset/run-files.js';

/** Progress is sent to Redis at most this often per job: a QueueEvents stream entry each. */
const PROGRESS_INTERVAL_MS = 500;

/**
 * How long after it was queued a parent job (merge, reduce, commit) that finds inputs missing and no child
 * pending waits for the coordinator to queue them (a flow is queued in several transactions), rechecking every
 * second, before it fails.
 */
const QUEUEING_WAIT_MS = 10 * 60_000;

/** What a featurize job returns (kept in its parent's `processed` hash until the parent finishes): small. */
export interface FeaturizeSummary {
  shard: number;
  images: number;
  errors: number;
}

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

  /** `token`: the job's lock, which a parent job needs to go back to waiting for its children. */
  process = async (job: Job, token?: string): Promise<unknown> => {
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
        case 'merge':
          return await this.merge(job, token, run, parsed.level, parsed.node, parsed.fanIn);
        case 'reduce':
          return await this.reduce(job, token, run, parsed.fanIn);
        case 'project':
          return await this.project(run, parsed.shard);
        case 'commit':
          return await this.commit(job, token, run);
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

  private async featurize(job: Job, run: RunHandle, index: number): Promise<FeaturizeSummary> {
    const shard = this.shard(run, index);
    const { runId } = run;
    if (await run.output.exists(layout.featurized(index))) {
      this.log.info({ runId, stage: 'featurize', shard: index }, 'shard already featurized: duplicate job skipped');
      return summary(await readMarker(run.output, index));
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
        // featurizeShard alone, to 0.1 ms: bench:scale subtracts it from the job's time to get the engine's cost.
        ms: Math.round(seconds * 10_000) / 10,
        imagesPerSecond: round(shard.keys.length / seconds),
        inferenceMs: Math.round(result.timings.inference),
      },
      'shard featurized',
    );
    return summary(result);
  }

  /** An inner node of the tree reduce: at most fan-in inputs of the level below, merged into one file. */
  private async merge(
    job: Job,
    token: string | undefined,
    run: RunHandle,
    level: number,
    node: number,
    fanIn: number,
  ): Promise<{ level: number; node: number; merged: number }> {
    const { output, runId } = run;
    const tree = this.tree(run, fanIn, level, node);
    if (await output.exists(layout.mergedMoments(level, node))) return { level, node, merged: 0 };
    await this.awaitInputs(job, token, `merge ${level}.${node}`, () => missingInputs(output, tree, level, node));
    const merged = await mergeTreeNode(output, tree, level, node, FEATURE_DIM);
    this.log.info({ runId, stage: 'merge', level, node, inputs: merged.merged, ms: Math.round(merged.ms), skipped: merged.skipped }, 'moments merged');
    return { level, node, merged: merged.merged };
  }

  private tree(run: RunHandle, fanIn: number, level: number, node: number): ReduceTree {
    const tree = new ReduceTree(run.plan.shards.length, fanIn);
    if (level > tree.height || node >= tree.widths[level]) {
      throw new InvalidJobError(`run ${run.runId} has no merge node ${level}.${node} at fan-in ${fanIn} (levels ${tree.widths.join(', ')})`);
    }
    return tree;
  }

  /**
   * A parent job released before all its children were queued (the coordinator queues a flow in several
   * transactions; if the children queued so far all finish before the next ones are added, BullMQ releases the
   * parent) finds inputs missing. It goes back to waiting for the children queued since, or, when none is
   * pending yet, looks again in a second; past QUEUEING_WAIT_MS after it was queued, missing inputs are an error.
   */
  private async awaitInputs(job: Job, token: string | undefined, what: string, missing: () => Promise<string[]>): Promise<void> {
    const absent = await missing();
    if (absent.length === 0) return;
    if (token !== undefined) {
      if (await job.moveToWaitingChildren(token)) throw new WaitingChildrenError();
      if (Date.now() - job.timestamp < QUEUEING_WAIT_MS) {
        this.log.info({ runId: parseRunId(job), jobId: job.id, missing: absent.length }, 'inputs not queued yet: looking again in 1 s');
        await job.moveToDelayed(Date.now() + 1000, token);
        throw new DelayedError();
      }
    }
    throw new Error(
      `${what}: ${absent.length} input(s) missing (${absent.slice(0, 5).join(', ')}${absent.length > 5 ? ', …' : ''}); \`fruits extract … --resume\` queues them again`,
    );
  }

  private async reduce(job: Job, token: string | undefined, run: RunHandle, fanIn: number | undefined): Promise<{ k: number; projectShards: number }> {
    const { plan, output, runId } = run;
    // Without a fan-in (a job queued before the tree reduce): the root over every shard, the flat merge.
    const tree = new ReduceTree(plan.shards.length, fanIn ?? Math.max(2, 2 ** Math.ceil(Math.log2(Math.max(plan.shards.length, 1)))));
    if (tree.height > 1) {
      await this.awaitInputs(job, token, 'cannot fit the PCA', () => missingInputs(output, tree, tree.height, 0));
    } else {
      const missing = await unmarkedShards(output, plan);
      if (missing.length > 0) {
        await this.awaitInputs(job, token, 'cannot fit the PCA', async () => (await unmarkedShards(output, plan)).map((s) => `shard ${s} not featurized`));
      }
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
        inputs: tree.children(tree.height, 0).map(treeInputKey(tree.height)),
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
    await this.scheduler.addProjectFlow(plan, output, projectShards, retryOf(job.opts));
    this.log.info(
      { runId, stage: 'reduce', k, mergeMs: Math.round(timing.mergeMs), fitMs: Math.round(timing.fitMs), projectShards: projectShards.length },
      'pca fitted',
    );
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

  private async commit(job: Job, token: string | undefined, run: RunHandle): Promise<Pick<Manifest, 'runId' | 'counts'>> {
    const { plan, output, runId } = run;
    if (await output.exists(layout.success)) {
      const manifest = await readManifest(output);
      return { runId: manifest.runId, counts: manifest.counts };
    }
    await this.awaitInputs(job, token, 'cannot commit', async () => (await unprojectedShards(output, plan)).map((s) => `shard ${s} not projected`));
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
    this.log.info(
      { runId, stage: 'commit', images: manifest.counts.features, errors: manifest.counts.errors, seconds: round(manifest.timings.totalMs / 1000) },
      'run committed',
    );
    await this.runs.finish(runId);
    return { runId, counts: manifest.counts };
  }
}

function summary(result: FeaturizeResult): FeaturizeSummary {
  return { shard: result.shard, images: result.images, errors: result.errors };
}

/** The inputs of a tree node that are not complete yet: shard markers under level 1, node files above. */
async function missingInputs(output: RunHandle['output'], tree: ReduceTree, level: number, node: number): Promise<string[]> {
  const keys = tree.children(level, node).map(level === 1 ? layout.featurized : (n: number) => layout.mergedMoments(level - 1, n));
  const present = await Promise.all(keys.map((k) => output.exists(k)));
  return keys.filter((_, i) => !present[i]);
}

function parseRunId(job: Job): string | undefined {
  return (job.data as { runId?: string } | undefined)?.runId;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
