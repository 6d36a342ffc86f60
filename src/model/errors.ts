/** Raised before any work starts: the message always says how to fix it. */
export class ModelError extends Error {
  override name = 'ModelError';
}

export class ModelNotFoundError extends ModelError {
  override name = 'ModelNotFoundError';
}

export class ModelChecksumError extends ModelError {
  override name = 'ModelChecksumError';
}

export class ModelContractError extends ModelError {
  override name = 'ModelContractError';
}
