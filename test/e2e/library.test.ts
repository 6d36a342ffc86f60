import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../support/cli.js';
import { writeImageFolder } from '../support/synthetic-images.js';
import { writeTinyModel } from '../support/tiny-model.js';

/**
 * fruits as a dependency of another project: the package is built and packed as `npm publish` would, installed
 * from the tarball into a fresh project, and imported by its name. This is what catches a missing `exports` entry,
 * a file left out of `files`, a runtime asset resolved from src/, or a .d.ts that does not type-check for a user.
 */
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'fruits-library-'));
const project = join(work, 'project');
const repoPackage = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  bin: Record<string, string>;
  engines: Record<string, string>;
  allowScripts: Record<string, boolean>;
};

const EXAMPLE = `import { extract } from 'fruits';

const manifest = await extract({
  input: process.argv[2],
  output: process.argv[3],
  model: process.argv[4],
  options: { shardSize: 4, pca: { k: 3 } },
  workers: 2,
});
console.log(JSON.stringify(manifest));
`;

const TYPED = `import { extract, openStorage, FruitsError, LocalEngine, type ExtractOptions, type Manifest, type Storage } from 'fruits';

const options: ExtractOptions = { input: './photos', output: './run', options: { pca: { variance: 0.9 } } };
const storage: Storage = openStorage('./run');
const pending: Promise<Manifest> = extract({ ...options, engine: (model) => new LocalEngine({ modelPath: model.path }) });
const code: string = new FruitsError('x', { code: 'X' }).code;
void storage;
void pending;
void code;
`;

before(async () => {
  // Build into a staging copy, not the repository's dist/: other tests (and a running CLI) use that one.
  const staging = join(work, 'package');
  mkdirSync(staging, { recursive: true });
  await run(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(REPO_ROOT, 'tsconfig.json'), '--outDir', join(staging, 'dist')]);
  chmodSync(join(staging, repoPackage.bin.fruits), 0o755);
  for (const file of ['package.json', 'README.md']) cpSync(join(REPO_ROOT, file), join(staging, file));
  // The build already ran; `prepare` would run tsc again, in a folder without a tsconfig.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: staging });
  const [packed] = JSON.parse(stdout) as { filename: string; integrity: string }[];
  const tarball = `file:../${packed.filename}`;

  // The project pins fruits's dependencies to the repository's lockfile, so the install takes the versions the
  // suite tested, from the npm cache where `npm ci` left them; the registry is asked only for what the cache lacks.
  mkdirSync(project);
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const packages = Object.fromEntries(Object.entries(lock.packages).filter(([key, entry]) => key.startsWith('node_modules/') && !entry.dev));
  packages['node_modules/fruits'] = {
    version: repoPackage.version,
    resolved: tarball,
    integrity: packed.integrity,
    dependencies: repoPackage.dependencies,
    bin: repoPackage.bin,
    engines: repoPackage.engines,
  } as never;
  // onnxruntime-node's install script downloads CUDA binaries: denied here as in the repository.
  const manifest = { name: 'fruits-library-test', private: true, type: 'module', dependencies: { fruits: tarball }, allowScripts: repoPackage.allowScripts };
  writeFileSync(join(project, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(
    join(project, 'package-lock.json'),
    JSON.stringify(
      { name: manifest.name, lockfileVersion: 3, requires: true, packages: { '': { name: manifest.name, dependencies: manifest.dependencies }, ...packages } },
      null,
      2,
    ),
  );
  await run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: project,
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
  });
});

after(() => rmSync(work, { recursive: true, force: true }));

describe('fruits as a library (npm pack + install into a fresh project)', () => {
  test('the package installs as a dependency, with its .d.ts and the runtime assets', () => {
    const installed = join(project, 'node_modules/fruits');
    assert.ok(existsSync(join(installed, 'dist/index.js')));
    assert.ok(existsSync(join(installed, 'dist/index.d.ts')));
    assert.ok(existsSync(join(installed, 'dist/catalog/fruits.json')), 'the catalog the app reads at run time');
    assert.ok(!existsSync(join(installed, 'src')), 'the package ships dist/, not the sources');
  });

  test("import { extract } from 'fruits' runs a tiny extract (the README's example)", async () => {
    const input = join(work, 'photos');
    const output = join(work, 'run');
    const model = writeTinyModel(join(work, 'tiny.onnx'));
    await writeImageFolder(input, { classes: 3, perClass: 4 });
    writeFileSync(join(project, 'index.mjs'), EXAMPLE);
    const { stdout } = await run(process.execPath, ['index.mjs', input, output, model], { cwd: project });
    const manifest = JSON.parse(stdout) as { counts: { listed: number; features: number; errors: number; shards: number }; pca: { k: number } };
    assert.deepEqual([manifest.counts.listed, manifest.counts.features, manifest.counts.errors, manifest.counts.shards], [12, 12, 0, 3]);
    assert.equal(manifest.pca.k, 3);
    assert.ok(existsSync(join(output, '_SUCCESS')));
    assert.ok(existsSync(join(output, 'results/part-00000.parquet')));
    assert.ok(existsSync(join(output, 'features/part-00002.parquet')), '12 images in shards of 4: three parts');
  });

  test("a TypeScript file importing types from 'fruits' type-checks (nodenext resolution through exports)", async () => {
    writeFileSync(join(project, 'typed.ts'), TYPED);
    const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    const args = [
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--skipLibCheck',
      '--types',
      'node',
      'typed.ts',
    ];
    // @types/node is the repository's (a user of fruits brings their own).
    await run(process.execPath, [tsc, ...args, '--typeRoots', join(REPO_ROOT, 'node_modules/@types')], { cwd: project }).catch((error: { stdout?: string }) => {
      assert.fail(`tsc: ${error.stdout}`);
    });
  });
});
