import type { FlowJob, FlowProducer, JobState, Queue } from 'bullmq';
import { layout } from '../../dataset/layout.js';
import type { PartProblem } from '../../dataset/part-record.js';
import { ReduceTree } from '../../pca/moments-tree.js';
import { mapLimited, READ_CONCURRENCY } from '../../pipeline/map-limited.js';
import type { Plan } from '../../dataset/plan.js';
import { pendingProject, resumePoint } from '../../pipeline/run-state.js';
import type { Storage } from '../../storage/storage.js';
import type { JobData } from './job-schemas.js';
import { DEFAULT_QUEUE_LAYOUT, jobId, jobOptions, parseJobId, QUEUE_NAME, QUEUE_PREFIX, type QueueLayout, type RetryPolicy } from './queue-contract.js';

export interface ScheduleResult {
  /** The stage whose flow is now queued; `done` when the output already holds _SUCCESS. */
  stage: 'featurize' | 'project' | 'done';
  /** Shards queued for that stage (those without their part in storage). */
  shards: number[];
  /** Parts that did not read back as written; their shards are among those queued. */
  problems?: PartProblem[];
  /** Redis transactions the flow took (each at most one enqueue batch of shard jobs). */
  transactions?: number;
}

const QUEUE_KEY = `${QUEUE_PREFIX}:${QUEUE_NAME}`;

/**
 * Turns a run's state in storage into BullMQ flows. A flow tree only fans in, so a run is two flows:
 * reduce ← merge nodes of the tree reduce ← featurize × pending shards, then (added by the reduce job)
 * commit ← project × pending shards. Storage is the truth about what is done; job ids are deterministic, so
 * scheduling again (a resumed coordinator, a retried reduce) queues only what is missing and re-attaches what
 * is still queued.
 *
 * A flow is queued in bounded transactions, never all at once. A parent must exist before a child can name it,
 * so every transaction adds one complete subtree of at most `enqueueBatch` shards, together with those of its
 * ancestors not queued yet (so no parent is ever queued without a child, which would run it at once). A parent
 * whose children already queued all finished before its next child was added is released early; its job
 * sees inputs missing and waits for them (JobProcessor.awaitInputs), so this only costs a retry.
 */
export class RunScheduler {
  constructor(
    private readonly queue: Queue,
    private readonly flows: FlowProducer,
    private readonly layout: QueueLayout = DEFAULT_QUEUE_LAYOUT,
  ) {}

  async schedule(plan: Plan, output: Storage, retry: RetryPolicy): Promise<ScheduleResult> {
    if (await output.exists(layout.success)) return { stage: 'done', shards: [], problems: [] };
    // The local engine's rule (resumePoint): featurize what is missing or damaged, then the reduce job keeps a
    // kept PCA model or fits one. With a kept model and every shard sound, the run continues with projection.
    const point = await resumePoint(output, plan);
    if (!point.pca || point.featurize.shards.length > 0) {
      const transactions = await this.addReduceTree(plan, output, point.featurize.shards, retry);
      return { stage: 'featurize', ...point.featurize, transactions };
    }
    const project = await pendingProject(output, plan);
    const transactions = await this.addProjectFlow(plan, output, project.shards, retry);
    return { stage: 'project', ...project, transactions };
  }

  /**
   * Flow 1: the tree reduce over every shard, with a featurize job for each pending shard. A node is queued
   * when its merged moments are not in storage; a pending shard makes its ancestors' merged moments stale, so
   * they are deleted first (a node file that exists is complete and up to date: its subtree is not queued).
   */
  async addReduceTree(plan: Plan, output: Storage, pending: number[], retry: RetryPolicy): Promise<number> {
    const { runId } = plan.spec;
    const tree = new ReduceTree(plan.shards.length, this.layout.fanIn);
    const todo = new Set(pending);
    // Nodes whose file must not be trusted (above a pending shard), level by level.
    const stale: Set<number>[] = [new Set(pending)];
    for (let level = 1; level < tree.height; level++) stale.push(new Set([...stale[level - 1]].map((n) => tree.parent(level - 1, n))));
    await mapLimited(
      stale.slice(1).flatMap((nodes, i) => [...nodes].map((node) => layout.mergedMoments(i + 1, node))),
      READ_CONCURRENCY,
      (key) => output.delete(key),
    );
    // Inner nodes (levels 1 … height-1) whose merged moments are still to compute.
    const needed: Set<number>[] = [new Set()];
    for (let level = 1; level < tree.height; level++) {
      const nodes = Array.from({ length: tree.widths[level] }, (_, n) => n);
      const exists = await mapLimited(nodes, READ_CONCURRENCY, (n) =>
        stale[level].has(n) ? Promise.resolve(false) : output.exists(layout.mergedMoments(level, n)),
      );
      needed.push(new Set(nodes.filter((n) => !exists[n])));
    }
    const isNeeded = (level: number, node: number) => (level === 0 ? todo.has(node) : level === tree.height || needed[level].has(node));
    const job = (level: number, node: number): FlowJob => {
      if (level === 0) return this.node('featurize', jobId.featurize(runId, node), { runId, output: plan.spec.output, shard: node }, retry, true);
      if (level === tree.height) return this.node('reduce', jobId.reduce(runId), { runId, output: plan.spec.output, fanIn: tree.fanIn }, retry, false);
      return this.node('merge', jobId.merge(runId, level, node), { runId, output: plan.spec.output, level, node, fanIn: tree.fanIn }, retry, true);
    };
    return this.addTree(tree, isNeeded, job, output);
  }

  /**
   * Flow 2: commit ← project × pending shards, in transactions of at most `enqueueBatch` shards (the commit is
   * queued with the first one). Added by the reduce job: flows fan in, they do not chain.
   */
  async addProjectFlow(plan: Plan, storage: Storage, shards: number[], retry: RetryPolicy): Promise<number> {
    const { runId, output } = plan.spec;
    const commitId = jobId.commit(runId);
    const project = (s: number) => this.node('project', jobId.project(runId, s), { runId, output, shard: s }, retry, true);
    const batch = Math.max(1, this.layout.enqueueBatch);
    let transactions = 0;
    for (let i = 0; i === 0 || i < shards.length; i += batch) {
      const batchOf = shards.slice(i, i + batch).map(project);
      // The commit's state is read with every batch: its children still queued under it are left where they are.
      const states = await this.settle([commitId, ...batchOf.map((c) => c.opts!.jobId!)], storage);
      const children = batchOf.filter((c) => prune(c, states, states.get(commitId)) !== undefined);
      if (i === 0) {
        await this.flows.add({ ...this.node('commit', commitId, { runId, output }, retry, false), children });
      } else if (children.length > 0) {
        await this.flows.addBulk(children.map((c) => ({ ...c, opts: { ...c.opts, parent: { id: commitId, queue: QUEUE_KEY } } })));
      }
      transactions++;
    }
    return transactions;
  }

  /**
   * Queues the needed part of a tree in transactions: each one a subtree of at most `enqueueBatch` shards plus
   * the chain of its ancestors not queued yet; a node with more shard children than that (a flat reduce) gets
   * them in chunks. Returns the number of transactions.
   */
  private async addTree(
    tree: ReduceTree,
    isNeeded: (level: number, node: number) => boolean,
    job: (level: number, node: number) => FlowJob,
    output: Storage,
  ): Promise<number> {
    const batch = Math.max(1, this.layout.enqueueBatch);
    // The highest level whose whole subtree fits one transaction.
    let batchLevel = 0;
    while (batchLevel < tree.height && tree.fanIn ** (batchLevel + 1) <= batch) batchLevel++;
    const neededChildren = (level: number, node: number) => tree.children(level, node).filter((c) => isNeeded(level - 1, c));
    const subtree = (level: number, node: number): FlowJob => {
      const flow = job(level, node);
      const children = level > 0 ? neededChildren(level, node).map((c) => subtree(level - 1, c)) : [];
      return children.length > 0 ? { ...flow, children } : flow;
    };
    const idsOf = (flow: FlowJob): string[] => [flow.opts!.jobId!, ...(flow.children ?? []).flatMap(idsOf)];
    const ref = (level: number, node: number) => ({ id: job(level, node).opts!.jobId!, queue: QUEUE_KEY });
    let transactions = 0;
    const add = async (flows: FlowJob[], parent?: { id: string; queue: string }) => {
      const states = await this.settle([...flows.flatMap(idsOf), ...(parent ? [parent.id] : [])], output);
      const kept = flows.map((f) => prune(f, states, parent && states.get(parent.id))).filter((f): f is FlowJob => f !== undefined);
      if (kept.length === 0) return;
      const placed = kept.map((f) => (parent ? { ...f, opts: { ...f.opts, parent } } : f));
      if (placed.length === 1) await this.flows.add(placed[0]);
      else await this.flows.addBulk(placed);
      transactions++;
    };
    /**
     * What goes into the transaction that queues (level, node): its subtree if that fits, else the node with
     * its first needed child's head; `later` queues the rest once the node exists.
     */
    const head = (level: number, node: number): { flow: FlowJob; later: () => Promise<void> } => {
      if (level <= batchLevel) return { flow: subtree(level, node), later: async () => {} };
      const kids = neededChildren(level, node);
      if (kids.length === 0) return { flow: job(level, node), later: async () => {} };
      if (level === 1) {
        // More shards under one node than a transaction takes (fan-in > enqueueBatch): the node with the first
        // chunk, the other chunks attached to it.
        const leaves = kids.map((c) => job(0, c));
        return {
          flow: { ...job(1, node), children: leaves.slice(0, batch) },
          later: async () => {
            for (let i = batch; i < leaves.length; i += batch) await add(leaves.slice(i, i + batch), ref(1, node));
          },
        };
      }
      const first = head(level - 1, kids[0]);
      return {
        flow: { ...job(level, node), children: [first.flow] },
        later: async () => {
          // Deepest first: the shards are queued roughly in plan order.
          await first.later();
          for (const kid of kids.slice(1)) await place(level - 1, kid, ref(level, node));
        },
      };
    };
    const place = async (level: number, node: number, parent?: { id: string; queue: string }): Promise<void> => {
      const { flow, later } = head(level, node);
      await add([flow], parent);
      await later();
    };
    await place(tree.height, 0);
    return transactions;
  }

  private node(name: string, id: string, data: JobData, retry: RetryPolicy, child: boolean): FlowJob {
    return { name, queueName: QUEUE_NAME, data, opts: jobOptions(id, retry, child) };
  }

  /**
   * Readies ids for the add that follows and returns their states. BullMQ ignores a job whose id exists: a
   * completed or failed one would swallow the re-add (and a failed child would keep its parent waiting forever),
   * so those are removed first (state `unknown` from then on). A job with no record, or a completed one, whose
   * output is in storage finished after storage was read: `finished`, not to add. Waiting, delayed and active
   * ones keep their state; `prune` leaves them out when their parent is waiting for them.
   */
  private async settle(ids: string[], output: Storage): Promise<Map<string, Settled>> {
    const states = new Map<string, Settled>();
    for (let i = 0; i < ids.length; i += 100) {
      await Promise.all(
        ids.slice(i, i + 100).map(async (id) => {
          const state = await this.queue.getJobState(id);
          states.set(id, state);
          if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return;
          if (state !== 'failed' && (await doneInStorage(id, output))) {
            states.set(id, 'finished');
            return;
          }
          states.set(id, 'unknown');
          if (state === 'unknown') return;
          const job = await this.queue.getJob(id);
          await job?.remove({ removeChildren: false });
        }),
      );
    }
    return states;
  }
}

/** A job's state as `settle` left it: `finished` when its output is in storage and it is not to be added. */
type Settled = JobState | 'unknown' | 'finished';

/** States in which a job is still to run, so queued already. */
const QUEUED: ReadonlySet<Settled> = new Set(['waiting', 'waiting-children', 'delayed', 'prioritized', 'active']);

/**
 * What of a flow is still to add, given the states `settle` returned (`parentState`: that of the node the flow
 * goes under). A finished node goes with its subtree (all done before it was). A node still queued under a parent
 * waiting for it, with nothing below it to add, goes too: it is attached already, and adding it again would
 * re-create it if it completed in between (a completed child is removed at once). That race is what CI caught
 * twice in cluster.test.ts: a coordinator resumed while workers keep going queued a shard finished meanwhile a
 * second time; its worker found the marker and skipped it, but the job ran twice. Under a parent not waiting (it
 * failed and was removed, or is not queued yet) a queued job is added again so the new parent waits for it.
 */
function prune(flow: FlowJob, states: Map<string, Settled>, parentState: Settled | undefined): FlowJob | undefined {
  const state = states.get(flow.opts!.jobId!);
  if (state === 'finished') return undefined;
  const children = (flow.children ?? []).map((c) => prune(c, states, state)).filter((c): c is FlowJob => c !== undefined);
  if (children.length === 0 && parentState === 'waiting-children' && state !== undefined && QUEUED.has(state)) return undefined;
  const { children: _, ...node } = flow;
  return children.length > 0 ? { ...node, children } : node;
}

/** Whether a shard or merge job's output is in storage (reduce and commit: never, they are what resume redoes). */
async function doneInStorage(id: string, output: Storage): Promise<boolean> {
  const parsed = parseJobId(id);
  if (parsed?.name === 'featurize') return output.exists(layout.featurized(parsed.shard!));
  if (parsed?.name === 'project') return output.exists(layout.results(parsed.shard!));
  if (parsed?.name === 'merge') return output.exists(layout.mergedMoments(parsed.level!, parsed.node!));
  return false;
}
