/**
 * Look at what the classifier learns from: writes a contact sheet of augmented scenes, and prints the cost of one
 * scene on this core (composition, then the JPEG round trip apart).
 *
 *   node --import tsx bench/scenes.ts [DIR_OF_REFERENCE_IMAGES] [OUT_DIR]
 *
 * DIR holds class folders of references (e.g. ../shared/data/fruits-360-sample); without it, synthetic discs.
 * Background photos come from SCENE_BACKGROUNDS (folders separated by ':'), by default Debian's wallpaper folders
 * /usr/share/backgrounds and /usr/share/wallpapers when present. Writes OUT_DIR/scenes.png and scenes.json.
 */
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import {
  createImage,
  createRng,
  decodePhoto,
  encodePng,
  jpegRoundTrip,
  randomScene,
  seedFor,
  type BackgroundPhoto,
  type RgbImage,
} from '../src/images/scene/index.js';

const IMAGE = /\.(jpe?g|png|webp|jxl|tiff?|avif)$/i;

async function filesUnder(dir: string, limit: number): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (out.length >= limit) return;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      // Plasma's wallpaper folders hold screenshots of the desktop beside the photos.
      else if (IMAGE.test(e.name) && !/screenshot/i.test(e.name) && (await stat(p)).isFile()) out.push(p);
    }
  };
  await walk(dir);
  return out;
}

function disc(colour: [number, number, number]): RgbImage {
  const img = createImage(100, 100);
  img.data.fill(255);
  for (let y = 0; y < 100; y++)
    for (let x = 0; x < 100; x++) {
      if (Math.hypot(x - 50, y - 50) < 38) img.data.set(colour, (y * 100 + x) * 3);
    }
  return img;
}

async function references(dir: string | undefined): Promise<Map<string, RgbImage[]>> {
  const classes = new Map<string, RgbImage[]>();
  if (!dir) {
    classes.set('red disc', [disc([200, 30, 40])]);
    classes.set('yellow disc', [disc([235, 210, 60])]);
    return classes;
  }
  for (const file of await filesUnder(dir, 5000)) {
    const label = relative(dir, file).split('/')[0];
    const list = classes.get(label) ?? [];
    if (list.length < 4) list.push(await decodePhoto(file, 100));
    classes.set(label, list);
  }
  if (classes.size === 0) throw new Error(`no images under ${dir}`);
  return classes;
}

async function main(): Promise<void> {
  const [refDir, outDir = 'bench-out/scenes'] = process.argv.slice(2);
  const classes = await references(refDir);
  const bgDirs = (process.env.SCENE_BACKGROUNDS ?? '/usr/share/backgrounds:/usr/share/wallpapers').split(':').filter(Boolean);
  const photos: BackgroundPhoto[] = [];
  for (const d of bgDirs) {
    for (const f of await filesUnder(d, 200)) {
      try {
        photos.push({ name: f, image: await decodePhoto(f) });
      } catch (e) {
        console.error(`skipping background ${f}: ${(e as Error).message}`);
      }
    }
  }
  console.log(`${classes.size} classes, ${photos.length} background photos`);
  const labels = [...classes.keys()];

  // The sheet: 6×4 scenes, each after its JPEG round trip (what the featurizer will see).
  const cols = 6,
    rows = 4,
    tile = 224,
    gap = 4;
  const sheet = createImage(cols * (tile + gap) + gap, rows * (tile + gap) + gap);
  sheet.data.fill(40);
  const described: unknown[] = [];
  for (let k = 0; k < cols * rows; k++) {
    const rng = createRng(seedFor('sheet', k));
    const label = labels[Math.floor(rng.next() * labels.length)];
    const scene = randomScene(classes.get(label)!, rng, { photos });
    const image = await jpegRoundTrip(scene.image, scene.jpegQuality);
    const ox = gap + (k % cols) * (tile + gap),
      oy = gap + Math.floor(k / cols) * (tile + gap);
    for (let y = 0; y < tile; y++) sheet.data.set(image.data.subarray(y * tile * 3, (y + 1) * tile * 3), ((oy + y) * sheet.width + ox) * 3);
    described.push({ tile: k, label, ...scene.params });
    console.log(
      `${k}: ${label} · ${scene.params.layout} ×${scene.params.copies.length} · ${scene.params.background.kind}` +
        `${scene.params.background.source ? ` (${scene.params.background.source.split('/').pop()})` : ''}` +
        ` · extent ${scene.params.copies.map((c) => c.extent.toFixed(2)).join(',')}${scene.params.occlusion ? ` · occl ${scene.params.occlusion.fill}` : ''}`,
    );
  }
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'scenes.png'), await encodePng(sheet));
  await writeFile(join(outDir, 'scenes.json'), JSON.stringify(described, null, 1));
  console.log(`wrote ${join(outDir, 'scenes.png')}`);

  // Cost per scene: warm up (cut-outs are cached per reference), then time composition alone, then JPEG.
  const count = Number(process.env.SCENE_BENCH_COUNT ?? 600);
  const pool = labels.map((l) => classes.get(l)!);
  for (let k = 0; k < 100; k++) randomScene(pool[k % pool.length], createRng(k), { photos });
  let t = process.hrtime.bigint();
  const made = [];
  for (let k = 0; k < count; k++) {
    const s = randomScene(pool[k % pool.length], createRng(seedFor('bench', k)), { photos });
    if (k < 100) made.push(s);
  }
  const composeMs = Number(process.hrtime.bigint() - t) / 1e6 / count;
  t = process.hrtime.bigint();
  for (const s of made) await jpegRoundTrip(s.image, s.jpegQuality);
  const jpegMs = Number(process.hrtime.bigint() - t) / 1e6 / made.length;
  const procMs = await timeProceduralOnly(pool, count);
  console.log(
    `per 224×224 scene on one core: compose ${composeMs.toFixed(2)} ms (procedural backgrounds only: ${procMs.toFixed(2)} ms), jpegRoundTrip ${jpegMs.toFixed(2)} ms`,
  );
}

async function timeProceduralOnly(pool: RgbImage[][], count: number): Promise<number> {
  const t = process.hrtime.bigint();
  for (let k = 0; k < count; k++) randomScene(pool[k % pool.length], createRng(seedFor('proc', k)));
  return Number(process.hrtime.bigint() - t) / 1e6 / count;
}

main().catch((error) => {
  console.error(`bench/scenes: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
