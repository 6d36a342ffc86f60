import { FruitsError } from '../../errors/fruits-error.js';

/** A pipeline or reduce thread ended (crashed, or exited) before it reported how its task went. */
export class WorkerTaskError extends FruitsError {
  static override readonly code: string = 'FRUITS_WORKER_THREAD';
}
