import { basename } from 'node:path';
import { ModelChecksumError } from './errors.js';
import { knownModelByFile } from './known-models.js';
import { sha256File } from './sha256.js';

/**
 * The file's sha256, checked against `expected` (e.g. a coordinator's) or, for a file named like a model this
 * project knows, against its pinned value.
 */
export async function verifyModelFile(path: string, expected?: string): Promise<string> {
  const sha256 = await sha256File(path);
  const pinned = expected ?? knownModelByFile(basename(path))?.sha256;
  if (pinned && pinned !== sha256) {
    throw new ModelChecksumError(
      `model ${path} has sha256 ${sha256}, expected ${pinned}: the file is corrupt or not the model it claims to be. ` +
        `Replace it (\`fruits model fetch\` rebuilds the default model) or pass the right file with --model.`,
    );
  }
  return sha256;
}
