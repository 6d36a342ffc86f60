import type { Cutout } from './mask.js';

/** Where one copy of a reference goes: centre of its bounding box in the scene, scale, rotation, flips. */
export interface Placement {
  /** Scene pixels per reference pixel. */
  scale: number;
  x: number;
  y: number;
  /** Degrees, counter-clockwise on screen. */
  rotation: number;
  flipX: boolean;
  flipY: boolean;
}

/** The scene rectangle a placement can touch: [x0, y0, x1, y1), clamped to the canvas. */
export function placementBounds(cut: Cutout, p: Placement, width: number, height: number): [number, number, number, number] {
  const [bx0, by0, bx1, by1] = cut.box;
  const hw = ((bx1 - bx0) / 2) * p.scale,
    hh = ((by1 - by0) / 2) * p.scale;
  const a = (p.rotation * Math.PI) / 180;
  const c = Math.abs(Math.cos(a)),
    s = Math.abs(Math.sin(a));
  const ex = c * hw + s * hh + 2,
    ey = s * hw + c * hh + 2;
  return [Math.max(0, Math.floor(p.x - ex)), Math.max(0, Math.floor(p.y - ey)), Math.min(width, Math.ceil(p.x + ex)), Math.min(height, Math.ceil(p.y + ey))];
}

/**
 * Draws a cut-out into a float RGB canvas (`rgb`, composited "over" with `gain` on the fruit's colour) or, when
 * `coverage` is given instead, accumulates only its alpha there (for shadows and bookkeeping). Inverse mapping with
 * bilinear sampling of premultiplied values, from the mip level nearest above the target size, so small copies
 * do not alias and edges have no fringe.
 */
export function pasteCutout(
  cut: Cutout,
  p: Placement,
  width: number,
  height: number,
  target: { rgb: Float32Array; gain: number } | { coverage: Float32Array; dx: number; dy: number },
): void {
  const level0 = cut.levels[0];
  let k = 0;
  while (k + 1 < cut.levels.length && (p.scale * level0.width) / cut.levels[k + 1].width <= 1) k++;
  const level = cut.levels[k];
  const ratio = level.width / level0.width;
  const s = p.scale / ratio; // scene pixels per level pixel
  const [bx0, by0, bx1, by1] = cut.box;
  const cx = ((bx0 + bx1) / 2) * ratio,
    cy = ((by0 + by1) / 2) * ratio;
  const a = (p.rotation * Math.PI) / 180;
  const cos = Math.cos(a),
    sin = Math.sin(a);
  const fx = p.flipX ? -1 : 1,
    fy = p.flipY ? -1 : 1;
  // Scene (dx, dy) → level (u, v): rotate by -angle (screen y points down, so the signs below rotate
  // counter-clockwise on screen), flip, scale.
  const uxx = (fx * cos) / s,
    uxy = (fx * -sin) / s;
  const vyx = (fy * sin) / s,
    vyy = (fy * cos) / s;
  const shiftX = 'coverage' in target ? target.dx : 0,
    shiftY = 'coverage' in target ? target.dy : 0;
  const px = p.x + shiftX,
    py = p.y + shiftY;
  const [x0, y0, x1, y1] = placementBounds(cut, { ...p, x: px, y: py }, width, height);
  const lw = level.width,
    lh = level.height,
    src = level.rgba;
  const rgb = 'rgb' in target ? target.rgb : null;
  const gain = 'rgb' in target ? target.gain : 1;
  const cov = 'coverage' in target ? target.coverage : null;
  for (let y = y0; y < y1; y++) {
    const dy = y + 0.5 - py;
    let dx = x0 + 0.5 - px;
    // Sample positions in level pixel-index space (pixel centres at integers).
    let u = cx + uxx * dx + uxy * dy - 0.5;
    let v = cy + vyx * dx + vyy * dy - 0.5;
    for (let x = x0; x < x1; x++, dx++, u += uxx, v += vyx) {
      if (u <= -1 || v <= -1 || u >= lw || v >= lh) continue;
      const i = Math.floor(u),
        j = Math.floor(v);
      const wx = u - i,
        wy = v - j;
      let A = 0,
        R = 0,
        G = 0,
        B = 0;
      // Four taps; those outside the level are transparent.
      if (j >= 0) {
        if (i >= 0) {
          const w = (1 - wx) * (1 - wy),
            o = (j * lw + i) * 4;
          R += w * src[o];
          G += w * src[o + 1];
          B += w * src[o + 2];
          A += w * src[o + 3];
        }
        if (i + 1 < lw) {
          const w = wx * (1 - wy),
            o = (j * lw + i + 1) * 4;
          R += w * src[o];
          G += w * src[o + 1];
          B += w * src[o + 2];
          A += w * src[o + 3];
        }
      }
      if (j + 1 < lh) {
        if (i >= 0) {
          const w = (1 - wx) * wy,
            o = ((j + 1) * lw + i) * 4;
          R += w * src[o];
          G += w * src[o + 1];
          B += w * src[o + 2];
          A += w * src[o + 3];
        }
        if (i + 1 < lw) {
          const w = wx * wy,
            o = ((j + 1) * lw + i + 1) * 4;
          R += w * src[o];
          G += w * src[o + 1];
          B += w * src[o + 2];
          A += w * src[o + 3];
        }
      }
      if (A <= 0.002) continue;
      const q = y * width + x;
      if (cov) {
        cov[q] += A * (1 - cov[q]);
      } else if (rgb) {
        const inv = 1 - A,
          o = q * 3;
        rgb[o] = rgb[o] * inv + R * gain;
        rgb[o + 1] = rgb[o + 1] * inv + G * gain;
        rgb[o + 2] = rgb[o + 2] * inv + B * gain;
      }
    }
  }
}
