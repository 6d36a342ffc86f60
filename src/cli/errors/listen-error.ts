import { FruitsError } from '../../index.js';

/** `fruits serve` could not bind its address (port in use, no permission): the cause is the socket's error. */
export class ListenError extends FruitsError {
  static override readonly code: string = 'FRUITS_CANNOT_LISTEN';
}
