import { photoCrop, proceduralBackground } from './backgrounds.js';
import { composeScene, SCENE_SIZE, type SceneOptions, type SceneParams } from './compose.js';
import type { RgbImage } from './rgb-image.js';
import type { Rng } from './rng.js';

/** A decoded background photo (see decodePhoto) and the name it is recorded under in the scene's parameters. */
export interface BackgroundPhoto {
  name: string;
  image: RgbImage;
}

export interface RandomSceneOptions {
  /** Photos to crop backgrounds from (`--backgrounds DIR`); none: procedural backgrounds only. */
  photos?: readonly BackgroundPhoto[];
  /** Share of scenes on a photo when photos are given (default 0.5). */
  photoShare?: number;
  size?: number;
  /** Effect probabilities, see composeScene. */
  scene?: Partial<SceneOptions>;
}

/**
 * Background choice + composeScene in one call, with `params.background` filled in (kind, and the photo's name
 * for photo backgrounds). The JPEG round trip is still the caller's: jpegRoundTrip(image, jpegQuality).
 */
export function randomScene(fruits: RgbImage[], rng: Rng, options: RandomSceneOptions = {}): { image: RgbImage; params: SceneParams; jpegQuality: number } {
  const size = options.size ?? SCENE_SIZE;
  const photos = options.photos ?? [];
  const share = options.photoShare ?? 0.5;
  let background: RgbImage;
  let kind: string;
  let source: string | null = null;
  if (photos.length > 0 && rng.chance(share)) {
    const photo = rng.pick(photos);
    background = photoCrop(photo.image, rng, size, size).image;
    kind = 'photo';
    source = photo.name;
  } else {
    ({ image: background, kind } = proceduralBackground(rng, size, size));
  }
  const scene = composeScene(fruits, background, rng, size, options.scene);
  scene.params.background = { kind, source };
  return scene;
}
