import type { DecodedImage } from './decode.js';
import { resizeBilinearInto, type Normalisation } from './resize.js';

export type TensorLayout = 'nhwc' | 'nchw';

/**
 * How a model wants its pixels scaled (see {@link normalisation}); 'raw-uint8': the RGB bytes as they are, for models
 * that normalise inside the graph. The model layer declares which one each known model file takes.
 */
export type Preprocessing = 'keras' | 'imagenet' | 'raw-uint8';

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

/** value = pixel * scale + offset: 'keras' is x/127.5 - 1, 'imagenet' is (x/255 - mean)/std. */
export function normalisation(preprocessing: Exclude<Preprocessing, 'raw-uint8'>, layout: TensorLayout): Normalisation {
  if (preprocessing === 'keras') return { scale: [1 / 127.5, 1 / 127.5, 1 / 127.5], offset: [-1, -1, -1], layout };
  const scale = IMAGENET_STD.map((s) => 1 / (255 * s)) as [number, number, number];
  const offset = IMAGENET_MEAN.map((m, c) => -m / IMAGENET_STD[c]) as [number, number, number];
  return { scale, offset, layout };
}

/** Writes one decoded image into slot `index` of a batch tensor of size×size×3 images. */
export function writeImageInto(batch: Float32Array, index: number, image: DecodedImage, size: number, norm: Normalisation): void {
  const offset = index * size * size * 3;
  if (image.rgbWidth === size && image.rgbHeight === size) {
    copyNormalised(image.rgb, batch, offset, size, norm);
  } else {
    resizeBilinearInto(image.rgb, image.rgbWidth, image.rgbHeight, size, batch, offset, norm);
  }
}

function copyNormalised(rgb: Uint8Array, out: Float32Array, offset: number, size: number, norm: Normalisation): void {
  const [s0, s1, s2] = norm.scale;
  const [o0, o1, o2] = norm.offset;
  const plane = size * size;
  for (let p = 0; p < plane; p++) {
    const i = p * 3;
    if (norm.layout === 'nhwc') {
      out[offset + i] = rgb[i] * s0 + o0;
      out[offset + i + 1] = rgb[i + 1] * s1 + o1;
      out[offset + i + 2] = rgb[i + 2] * s2 + o2;
    } else {
      out[offset + p] = rgb[i] * s0 + o0;
      out[offset + plane + p] = rgb[i + 1] * s1 + o1;
      out[offset + 2 * plane + p] = rgb[i + 2] * s2 + o2;
    }
  }
}
