import { layout } from '../../dataset/layout.js';
import type { ProjectionKernel } from '../../pca/matrix-kernels.js';
import type { Plan } from '../../dataset/plan.js';
import { closeStageContext, openStageContext, type StageContext } from '../../pipeline/stage-context.js';
import { openStorage } from '../../storage/open-storage.js';
import type { Storage } from '../../storage/storage.js';
import type { AccessPolicy } from './access-policy.js';
import { InvalidJobError } from './errors.js';
import { parsePlan } from './job-schemas.js';
import type { ModelBroadcast } from './model-broadcast.js';
import { openProjection } from '../../pipeline/project.js';

/** What a worker holds for one run: the validated plan, its storages, and (once needed) the model and PCA kernels. */
export interface RunHandle {
  readonly runId: string;
  readonly plan: Plan;
  readonly output: Storage;
  context?: Promise<StageContext>;
  projection?: Promise<ProjectionKernel>;
  users: number;
  lastUsed: number;
}

export interface RunCacheOptions {
  policy: AccessPolicy;
  broadcast: ModelBroadcast;
  /** onnxruntime threads of the model session and the PCA kernels. */
  threads: number;
  /** Close a run's sessions after this long without a job (default 2 min). */
  idleMs?: number;
}

/**
 * Per-run state of a worker process. The stage context (storages + ONE model session + scatter kernel) is opened
 * on a run's first featurize job and reused for all its shards; opening the real model costs ~0.3 s, so a
 * session per run (rather than one per model sha256 shared across runs) is cheap, and it keeps runs apart.
 * Runs not used for `idleMs` are closed, so a long-lived worker does not accumulate sessions.
 */
export class RunCache {
  private readonly runs = new Map<string, RunHandle>();
  private readonly opening = new Map<string, Promise<RunHandle | 'finished'>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: RunCacheOptions) {
    this.sweeper = setInterval(() => void this.sweep(), Math.min(this.idleMs, 30_000));
    this.sweeper.unref();
  }

  private get idleMs(): number {
    return this.options.idleMs ?? 120_000;
  }

  /**
   * The run a job names, after every check a crafted job must pass: output under --allow, a plan at the output
   * whose run id and output are the job's, the plan's input under --allow. 'finished' when the run was committed
   * (its plan is gone with _tmp/): a late duplicate job has nothing left to do.
   */
  async acquire(runId: string, outputUri: string): Promise<RunHandle | 'finished'> {
    this.options.policy.check(outputUri, 'output');
    let handle = this.runs.get(runId);
    if (!handle) {
      let opening = this.opening.get(runId);
      if (!opening) {
        opening = this.load(runId, outputUri).finally(() => this.opening.delete(runId));
        this.opening.set(runId, opening);
      }
      const loaded = await opening;
      if (loaded === 'finished') return loaded;
      handle = loaded;
    }
    if (handle.plan.spec.output !== outputUri) {
      throw new InvalidJobError(`run ${runId} writes to ${handle.plan.spec.output}, not to ${outputUri}`);
    }
    handle.users++;
    handle.lastUsed = Date.now();
    return handle;
  }

  release(handle: RunHandle): void {
    handle.users--;
    handle.lastUsed = Date.now();
  }

  context(handle: RunHandle): Promise<StageContext> {
    if (!handle.context) {
      const { spec } = handle.plan;
      handle.context = this.options.broadcast
        .fetch(handle.output, spec.model)
        .then((modelPath) => openStageContext({ spec, modelPath, threads: this.options.threads }));
      handle.context.catch(() => (handle.context = undefined));
    }
    return handle.context;
  }

  /** The projection onto the run's PCA basis; read once per run, after the reduce wrote pca/model.json. */
  projection(handle: RunHandle): Promise<ProjectionKernel> {
    if (!handle.projection) {
      handle.projection = openProjection(handle.output, this.options.threads);
      handle.projection.catch(() => (handle.projection = undefined));
    }
    return handle.projection;
  }

  /** The run was committed: free its sessions now rather than after the idle time. */
  async finish(runId: string): Promise<void> {
    const handle = this.runs.get(runId);
    if (handle && handle.users <= 1) await this.closeRun(handle);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.runs.values()].map((h) => this.closeRun(h)));
  }

  private async load(runId: string, outputUri: string): Promise<RunHandle | 'finished'> {
    const output = openStorage(outputUri);
    if (!(await output.exists(layout.plan))) {
      if (await output.exists(layout.success)) return 'finished';
      throw new InvalidJobError(`no run at ${outputUri}: ${layout.plan} not found`);
    }
    const plan = parsePlan((await output.read(layout.plan)).toString(), `${outputUri}/${layout.plan}`);
    if (plan.spec.runId !== runId) throw new InvalidJobError(`${outputUri} holds run ${plan.spec.runId}, not ${runId}`);
    if (plan.spec.output !== outputUri) throw new InvalidJobError(`the plan at ${outputUri} names another output (${plan.spec.output})`);
    this.options.policy.check(plan.spec.input, 'input');
    const handle: RunHandle = { runId, plan, output, users: 0, lastUsed: Date.now() };
    this.runs.set(runId, handle);
    return handle;
  }

  private async sweep(): Promise<void> {
    const now = Date.now();
    for (const handle of this.runs.values()) {
      if (handle.users === 0 && now - handle.lastUsed > this.idleMs) await this.closeRun(handle);
    }
  }

  private async closeRun(handle: RunHandle): Promise<void> {
    this.runs.delete(handle.runId);
    const [context, projection] = [handle.context, handle.projection];
    handle.context = handle.projection = undefined;
    await Promise.all([
      context?.then(closeStageContext, () => {}),
      projection?.then(
        (p) => p.close(),
        () => {},
      ),
    ]);
  }
}
