import { parentPort, workerData } from 'node:worker_threads';
import { toWire } from '../../errors/wire.js';
import type { ProjectionKernel } from '../../pca/matrix-kernels.js';
import { augmentShard } from '../../pipeline/augment.js';
import { featurizeShard } from '../../pipeline/featurize.js';
import { decodePhoto, type BackgroundPhoto } from '../../images/scene/index.js';
import { basename } from 'node:path';
import { openProjection, projectShard } from '../../pipeline/project.js';
import { openStageContext } from '../../pipeline/stage-context.js';
import type { ThreadInit, ThreadMessage, ThreadTask } from './messages.js';

/** One pipeline thread: opens its own model session once, then runs the tasks the pool sends, one at a time. */
const init = workerData as ThreadInit;
const port = parentPort!;
const send = (message: ThreadMessage) => port.postMessage(message);

try {
  const context = await openStageContext(init);
  let projection: ProjectionKernel | undefined;
  let photos: Promise<BackgroundPhoto[]> | undefined;
  send({ type: 'ready', model: context.extractor.info });
  port.on('message', async (task: ThreadTask) => {
    try {
      if (task.type === 'featurize') {
        const result = await featurizeShard(
          context,
          task.shard,
          (images, errors) => send({ type: 'progress', images, errors }),
          () => Atomics.load(init.stop, 0) === 1,
        );
        send({ type: 'featurized', result });
      } else if (task.type === 'augment') {
        const augment = init.augment!;
        // Each thread decodes the background photos once (≈ 1 MB each at 640 px), then crops them per scene.
        photos ??= Promise.all(augment.backgroundFiles.map(async (file) => ({ name: basename(file), image: await decodePhoto(file) })));
        const result = await augmentShard(
          context,
          task.shard,
          augment.spec,
          await photos,
          (scenes) => send({ type: 'augment-progress', scenes }),
          () => Atomics.load(init.stop, 0) === 1,
        );
        send({ type: 'augmented', result });
      } else {
        projection ??= await openProjection(context.output, init.threads);
        const { rows } = await projectShard(context.output, projection, task.shard);
        send({ type: 'projected', shard: task.shard, rows });
      }
    } catch (error) {
      send({ type: 'failed', error: toWire(error) });
    }
  });
} catch (error) {
  send({ type: 'failed', error: toWire(error) });
}
