/**
 * Augmentation scenes: a Fruits-360 reference (a fruit on a flood-filled white background) turned into
 * phone-photo-like 224×224 scenes. Pure pixel code, deterministic from an Rng; only jpegRoundTrip and the
 * decode/encode helpers touch sharp.
 */
export type { RgbImage } from './rgb-image.js';
export { createImage } from './rgb-image.js';
export { createRng, seedFor, type Rng } from './rng.js';
export { fruitMask, DEFAULT_MASK, type MaskOptions } from './mask.js';
export { proceduralBackground, backgroundFromPhoto, photoCrop, BACKGROUND_KINDS, type PhotoCrop } from './backgrounds.js';
export {
  composeScene,
  SCENE_SIZE,
  DEFAULT_SCENE_OPTIONS,
  type SceneOptions,
  type SceneParams,
  type CopyParams,
  type ShadowParams,
  type OcclusionParams,
} from './compose.js';
export type { Tone } from './photometric.js';
export { randomScene, type RandomSceneOptions, type BackgroundPhoto } from './random-scene.js';
export { jpegRoundTrip, decodePhoto, encodePng } from './jpeg.js';
