import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { WeightsSource } from '../weights/source.js';
import type { VerificationReport } from './verify.js';

export const SIDECAR_FORMAT = 'fruits-model-sidecar/1';

/** Where the weights file was downloaded from, when it was. */
export interface DownloadProvenance {
  url: string;
  bytes: number;
  /** The sha256 pinned in the code, or null where none is known (then the golden checks vouch for the build). */
  pinnedSha256: string | null;
}

/**
 * `<model>.onnx.json` next to a model fruits built: what it is, what it was built from and what was verified.
 * The model's own sha256 is in it, so a changed or truncated model file no longer matches its sidecar.
 */
export interface ModelSidecar {
  format: typeof SIDECAR_FORMAT;
  model: { file: string; sha256: string; bytes: number };
  builder: string;
  builtAt: string;
  preprocessing: string;
  source: WeightsSource & { download?: DownloadProvenance };
  verification: VerificationReport;
}

export function sidecarPath(modelPath: string): string {
  return `${modelPath}.json`;
}

export function writeSidecar(modelPath: string, sidecar: ModelSidecar): string {
  const path = sidecarPath(modelPath);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(sidecar, null, 2)}\n`);
  renameSync(tmp, path);
  return path;
}

/** The sidecar of a model, or undefined when there is none or it is not one of ours. */
export function readSidecar(modelPath: string): ModelSidecar | undefined {
  const path = sidecarPath(modelPath);
  if (!existsSync(path)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<ModelSidecar>;
    if (parsed.format !== SIDECAR_FORMAT || typeof parsed.model?.sha256 !== 'string') return undefined;
    return parsed as ModelSidecar;
  } catch {
    return undefined;
  }
}
