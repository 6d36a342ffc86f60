/**
 * Errors of the classifier layer. Each says what is wrong and how to fix it, because the CLI and the HTTP API
 * print the message as is.
 */
export class ClassifierError extends Error {
  override name = 'ClassifierError';
}

/** The run folder holds no finished run (no _SUCCESS), or lacks a part the classifier needs. */
export class RunNotReadyError extends ClassifierError {
  override name = 'RunNotReadyError';
}

/**
 * The model file is not the one the run was extracted with. Its features would live in another space than the
 * run's reference vectors, and every answer would be silently wrong.
 */
export class RunModelMismatchError extends ClassifierError {
  override name = 'RunModelMismatchError';
}

/** Too many photos already wait for the model: the caller should retry later (HTTP 503). */
export class QueueFullError extends ClassifierError {
  override name = 'QueueFullError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** The classifier was closed while a photo was waiting (server shutdown). */
export class ClassifierClosedError extends ClassifierError {
  override name = 'ClassifierClosedError';
}
