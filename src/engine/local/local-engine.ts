import { availableParallelism } from 'node:os';
import type { Manifest } from '../../dataset/manifest.js';
import { FEATURE_DIM } from '../../model/feature-extractor.js';
import type { PcaModel } from '../../pca/pca-model.js';
import { commitRun } from '../../pipeline/commit.js';
import type { AugmentResult, AugmentSpec } from '../../pipeline/augment.js';
import type { Plan } from '../../dataset/plan.js';
import type { RunSpec } from '../../dataset/run-spec.js';
import { MomentsMerge, reducePca } from '../../pipeline/reduce.js';
import { discardResults, pendingProject, resumePoint } from '../../pipeline/run-state.js';
import { openStorage } from '../../storage/open-storage.js';
import { RunAbortedError, type Engine, type RunHooks } from '../engine.js';
import { WorkerPool } from './worker-pool.js';

export interface LocalEngineOptions {
  modelPath: string;
  /** Pipeline threads; default one per core. */
  workers?: number;
  /** onnxruntime threads per pipeline thread; default 1 (measured best, see README). */
  threads?: number;
}

/** The embedded engine: worker threads on this machine, each with its own model session. */
export class LocalEngine implements Engine {
  readonly name = 'local';

  constructor(private readonly options: LocalEngineOptions) {}

  /**
   * The augmentation stage of `fruits train` on the same threads as featurize: one task per features part,
   * each writing augmented/part-NNNNN.parquet. `shards` are the parts still to do (the caller skips done ones).
   */
  async augment(spec: RunSpec, shards: number[], augment: { spec: AugmentSpec; backgroundFiles: string[] }, hooks: RunHooks = {}): Promise<AugmentRun> {
    const started = performance.now();
    const emit = hooks.onEvent ?? (() => {});
    const workers = Math.max(1, Math.min(shards.length, this.options.workers ?? availableParallelism()));
    const pool = new WorkerPool(workers, { spec, modelPath: this.options.modelPath, threads: this.options.threads ?? 1, augment });
    const abort = () => void pool.terminate();
    hooks.signal?.addEventListener('abort', abort);
    const results: AugmentResult[] = [];
    try {
      if (shards.length === 0) return { results, wallMs: 0 };
      await pool.start();
      await pool.run(
        shards.map((shard) => ({ type: 'augment' as const, shard })),
        (message) => {
          if (message.type === 'augment-progress') emit({ type: 'progress', stage: 'augment', images: message.scenes, errors: 0 });
          if (message.type === 'augmented') {
            results.push(message.result);
            emit({ type: 'shard-done', stage: 'augment', shard: message.result.shard });
          }
        },
      );
      if (hooks.signal?.aborted) throw new RunAbortedError('run interrupted');
      return { results: results.sort((a, b) => a.shard - b.shard), wallMs: performance.now() - started };
    } catch (error) {
      if (hooks.signal?.aborted) throw new RunAbortedError('run interrupted');
      throw error;
    } finally {
      hooks.signal?.removeEventListener('abort', abort);
      await pool.terminate();
    }
  }

  async run(plan: Plan, hooks: RunHooks = {}): Promise<Manifest> {
    const startedAt = performance.now();
    const emit = hooks.onEvent ?? (() => {});
    const redo = hooks.onRedo ?? (() => {});
    const output = openStorage(plan.spec.output);
    const workers = Math.max(1, this.options.workers ?? availableParallelism());
    const pool = new WorkerPool(workers, {
      spec: plan.spec,
      modelPath: this.options.modelPath,
      threads: this.options.threads ?? 1,
    });
    const abort = () => void pool.terminate();
    hooks.signal?.addEventListener('abort', abort);
    try {
      await pool.start();
      const check = () => {
        if (hooks.signal?.aborted) throw new RunAbortedError('run interrupted');
      };

      const t0 = performance.now();
      // Shards whose marker is missing, or whose parts no longer read back as written; and the PCA model kept.
      const point = await resumePoint(output, plan);
      const toFeaturize = point.featurize.shards;
      for (const p of point.featurize.problems) redo({ stage: 'featurize', ...p });
      const byIndex = new Map(plan.shards.map((s) => [s.index, s]));
      // The main thread is idle while the pool featurizes: it merges each shard's moments as soon as the shard
      // is done, so the reduce after the last one only fits. No PCA model kept means the merge will be needed.
      const merge = point.pca
        ? undefined
        : new MomentsMerge(
            output,
            plan.shards.map((s) => s.index),
            pool.model?.featureDim ?? FEATURE_DIM,
          );
      const pending = new Set(toFeaturize);
      for (const s of plan.shards) if (!pending.has(s.index)) merge?.add(s.index);
      emit({ type: 'stage', stage: 'featurize', shards: toFeaturize.length, images: sum(toFeaturize.map((i) => byIndex.get(i)!.keys.length)) });
      await pool.run(
        toFeaturize.map((i) => ({ type: 'featurize' as const, shard: byIndex.get(i)! })),
        (message) => {
          if (message.type === 'progress') emit({ type: 'progress', stage: 'featurize', images: message.images, errors: message.errors });
          if (message.type === 'featurized') {
            merge?.add(message.result.shard);
            emit({ type: 'shard-done', stage: 'featurize', shard: message.result.shard });
          }
        },
      );
      check();
      const featurizeMs = performance.now() - t0;

      // A kept PCA model (see keptPcaModel): the results parts written before stay consistent with the new ones.
      emit({ type: 'stage', stage: 'pca', shards: plan.shards.length, images: plan.images });
      let pca: PcaModel;
      let pcaMergeMs = 0;
      let pcaFitMs = 0;
      if (!merge) {
        pca = point.pca!;
      } else {
        await discardResults(output, plan);
        // The pool's threads are idle during the reduce: give the eigen-decomposition's GEMMs every core.
        const reduced = await reducePca(output, plan.spec, merge, workers);
        ({ model: pca, mergeMs: pcaMergeMs, fitMs: pcaFitMs } = reduced);
      }
      check();

      const t1 = performance.now();
      const project = await pendingProject(output, plan);
      for (const p of project.problems) redo({ stage: 'project', ...p });
      const toProject = project.shards;
      emit({ type: 'stage', stage: 'project', shards: toProject.length, images: sum(toProject.map((i) => byIndex.get(i)!.keys.length)) });
      await pool.run(
        toProject.map((shard) => ({ type: 'project' as const, shard })),
        (message) => {
          if (message.type === 'projected') {
            emit({ type: 'progress', stage: 'project', images: byIndex.get(message.shard)!.keys.length, errors: 0 });
            emit({ type: 'shard-done', stage: 'project', shard: message.shard });
          }
        },
      );
      check();
      const projectMs = performance.now() - t1;

      emit({ type: 'stage', stage: 'commit', shards: plan.shards.length, images: plan.images });
      return await commitRun(output, {
        plan,
        model: pool.model!,
        pca,
        engine: `local (${workers} thread${workers === 1 ? '' : 's'} × ${this.options.threads ?? 1} onnxruntime thread${(this.options.threads ?? 1) === 1 ? '' : 's'})`,
        startedAt,
        timings: { featurizeMs, pcaMergeMs, pcaFitMs, projectMs },
      });
    } catch (error) {
      if (hooks.signal?.aborted) throw new RunAbortedError('run interrupted');
      throw error;
    } finally {
      hooks.signal?.removeEventListener('abort', abort);
      await pool.terminate();
    }
  }
}

/** What augment() reports: per shard results, in shard order, and the stage's wall time. */
export interface AugmentRun {
  results: AugmentResult[];
  wallMs: number;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
