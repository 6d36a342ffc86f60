import type { FlowJob, FlowProducer, Queue } from 'bullmq';
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
      const finished = await this.settle([...(i === 0 ? [commitId] : []), ...batchOf.map((c) => c.opts!.jobId!)], storage);
      const children = batchOf.filter((c) => !finished.has(c.opts!.jobId!));
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
    // A node that finished since storage was read goes, with its subtree (all done before it was).
    const prune = (flow: FlowJob, finished: Set<string>): FlowJob | undefined => {
      if (finished.has(flow.opts!.jobId!)) return undefined;
      const children = (flow.children ?? []).map((c) => prune(c, finished)).filter((c): c is FlowJob => c !== undefined);
      const { children: _, ...node } = flow;
      return children.length > 0 ? { ...node, children } : node;
    };
    const add = async (flows: FlowJob[], parent?: { id: string; queue: string }) => {
      const finished = await this.settle(flows.flatMap(idsOf), output);
      const kept = flows.map((f) => prune(f, finished)).filter((f): f is FlowJob => f !== undefined);
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
   * Readies ids for the add that follows. BullMQ ignores a job whose id exists: a completed or failed one would
   * swallow the re-add (and a failed child would keep its parent waiting forever), so those go first; waiting,
   * delayed and active ones stay and are re-attached to the parent by the add. Returns the ids not to add: jobs
   * that finished after storage was read (no job, or a completed one, and its output now in storage). A child is
   * removed once complete, so without this check a coordinator resumed while workers keep going queued a shard
   * that finished meanwhile a second time (CI, cluster.test.ts). A job that is active here and completes before
   * the add is still queued again; its worker then finds the marker and skips it (JobProcessor.featurize).
   */
  private async settle(ids: string[], output: Storage): Promise<Set<string>> {
    const finished = new Set<string>();
    for (let i = 0; i < ids.length; i += 100) {
      await Promise.all(
        ids.slice(i, i + 100).map(async (id) => {
          const state = await this.queue.getJobState(id);
          if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return;
          if (state !== 'failed' && (await doneInStorage(id, output))) {
            finished.add(id);
            return;
          }
          if (state === 'unknown') return;
          const job = await this.queue.getJob(id);
          await job?.remove({ removeChildren: false });
        }),
      );
    }
    return finished;
  }
}

/** Whether a shard or merge job's output is in storage (reduce and commit: never, they are what resume redoes). */
async function doneInStorage(id: string, output: Storage): Promise<boolean> {
  const parsed = parseJobId(id);
  if (parsed?.name === 'featurize') return output.exists(layout.featurized(parsed.shard!));
  if (parsed?.name === 'project') return output.exists(layout.results(parsed.shard!));
  if (parsed?.name === 'merge') return output.exists(layout.mergedMoments(parsed.level!, parsed.node!));
  return false;
}
