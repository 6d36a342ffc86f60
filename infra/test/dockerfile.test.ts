/**
 * The container image, checked statically (no Docker engine needed): the Dockerfile's final stage must not run
 * as root, the build context must not carry node_modules, models or data, and the entrypoint must build the
 * Redis URL the way the ECS task definitions expect.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../lib/fruits-stack.js';

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile → instructions: comments dropped, `\` continuations joined, keywords upper-cased. */
export function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (current !== '' && line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' ';
      continue;
    }
    logical.push(current + line);
    current = '';
  }
  if (current.trim()) logical.push(current);
  return logical
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [keyword, ...rest] = l.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/** The instructions of each build stage (from one FROM to the next). */
export function stages(instructions: Instruction[]): Instruction[][] {
  const result: Instruction[][] = [];
  for (const i of instructions) {
    if (i.keyword === 'FROM') result.push([i]);
    else if (result.length) result[result.length - 1].push(i);
  }
  return result;
}

/** The user a stage runs as: its last USER, or root when it has none. */
export function stageUser(stage: Instruction[]): string {
  const users = stage.filter((i) => i.keyword === 'USER');
  return users.length ? users[users.length - 1].args.trim() : 'root';
}

export function isRootUser(user: string): boolean {
  const name = user.split(':')[0].trim();
  return name === '' || name === 'root' || name === '0' || /^0+$/.test(name);
}

const dockerfile = parseDockerfile(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const dockerignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
  .split(/\r?\n/)
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

describe('Dockerfile', () => {
  const all = stages(dockerfile);
  const final = all[all.length - 1];

  it('is multi-stage: builds with dev dependencies, ships production dependencies only', () => {
    assert.ok(all.length >= 2, 'at least a build and a runtime stage');
    const runs = dockerfile.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    assert.ok(
      runs.some((r) => /npm ci\b/.test(r) && !/--omit=dev/.test(r)),
      'npm ci with dev deps in the build stage',
    );
    assert.ok(
      runs.some((r) => /npm run build/.test(r)),
      'npm run build',
    );
    assert.ok(
      runs.some((r) => /npm (ci|prune)\b.*--omit=dev/.test(r)),
      'production-only node_modules',
    );
    assert.ok(!final.some((i) => i.keyword === 'RUN' && /npm (ci|install)/.test(i.args)), 'no npm install in the runtime stage');
  });

  it('final stage runs as a non-root user', () => {
    const user = stageUser(final);
    assert.ok(!isRootUser(user), `final stage USER is ${user}`);
  });

  it('final stage is a slim Node 20 image with fruits as entrypoint', () => {
    const from = final[0].args;
    const base = from.includes('${NODE_IMAGE}')
      ? dockerfile.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='))?.args.split('=')[1]
      : from.split(/\s+/)[0];
    assert.match(base ?? '', /^node:20[-.\w]*slim/);
    const entrypoint = final.find((i) => i.keyword === 'ENTRYPOINT');
    assert.ok(entrypoint, 'ENTRYPOINT in the final stage');
    assert.match(entrypoint.args, /fruits-entrypoint|dist\/cli\/main\.js/);
    const entry = readFileSync(join(REPO_ROOT, 'deploy/docker/entrypoint.sh'), 'utf8');
    assert.match(entry, /exec node "\$\{FRUITS_CLI:-\/app\/dist\/cli\/main\.js\}" "\$@"/);
  });

  it('keeps the model optional: BAKE_MODEL build arg, cache owned by the runtime user', () => {
    assert.ok(dockerfile.some((i) => i.keyword === 'ARG' && /^BAKE_MODEL(=|$)/.test(i.args)));
    assert.ok(final.some((i) => i.keyword === 'ENV' && /XDG_CACHE_HOME=\/home\/node\/\.cache/.test(i.args)));
    assert.ok(final.some((i) => i.keyword === 'RUN' && /chown -R 1000:1000 \/home\/node\/\.cache/.test(i.args)));
  });

  it('parser: a stage without USER, or USER root/0, counts as root', () => {
    const parsed = stages(parseDockerfile('FROM a AS x\nUSER node\nFROM b\nRUN echo \\\n  hi\n# USER node\n'));
    assert.equal(stageUser(parsed[0]), 'node');
    assert.equal(stageUser(parsed[1]), 'root');
    for (const u of ['root', '0', '0:0', 'root:root', '000']) assert.ok(isRootUser(u), u);
    for (const u of ['1000', '1000:1000', 'node']) assert.ok(!isRootUser(u), u);
  });
});

describe('.dockerignore', () => {
  it('keeps node_modules, models, data and VCS out of the build context', () => {
    const ignores = (pattern: RegExp) => dockerignore.some((l) => pattern.test(l));
    assert.ok(ignores(/^(\*\*\/)?node_modules\/?$/), 'node_modules');
    assert.ok(ignores(/^(\*\*\/)?\*\.onnx$/), '*.onnx');
    assert.ok(ignores(/^(\*\*\/)?\.git\/?$/), '.git');
    assert.ok(ignores(/^(\*\*\/)?dist\/?$/), 'dist');
    assert.ok(ignores(/^(\*\*\/)?\*\.jpe?g$/), 'images');
  });

  it('re-admits everything the Dockerfile copies', () => {
    const copied = dockerfile
      .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))
      .flatMap((i) =>
        i.args
          .split(/\s+/)
          .filter((a) => !a.startsWith('--'))
          .slice(0, -1),
      );
    const admitted = dockerignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    for (const path of copied) {
      assert.ok(
        admitted.some((a) => path === a || path.startsWith(`${a}/`)),
        `${path} is copied but ignored`,
      );
    }
  });
});

describe('entrypoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fruits-entry-'));
  const probe = join(dir, 'probe.mjs');
  writeFileSync(
    probe,
    "process.stdout.write(JSON.stringify({ url: process.env.FRUITS_REDIS_URL ?? null, password: process.env.FRUITS_REDIS_PASSWORD ?? null, modelDir: process.env.FRUITS_MODEL_DIR ?? null, malloc: [process.env.MALLOC_ARENA_MAX, process.env.MALLOC_MMAP_THRESHOLD_, process.env.MALLOC_TRIM_THRESHOLD_].join(' '), args: process.argv.slice(2) }))",
  );
  const run = (env: Record<string, string>, ...args: string[]) =>
    JSON.parse(
      execFileSync('sh', [join(REPO_ROOT, 'deploy/docker/entrypoint.sh'), ...args], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', FRUITS_CLI: probe, ...env },
        encoding: 'utf8',
      }),
    );

  it('builds rediss://:<password>@host:port from the ECS environment and hides the password', () => {
    const out = run(
      { FRUITS_REDIS_HOST: 'master.x.euw3.cache.amazonaws.com', FRUITS_REDIS_PORT: '6379', FRUITS_REDIS_TLS: 'true', FRUITS_REDIS_PASSWORD: 'abc123' },
      'worker',
      '--concurrency',
      '2',
    );
    assert.equal(out.url, 'rediss://:abc123@master.x.euw3.cache.amazonaws.com:6379');
    assert.equal(out.password, null);
    assert.deepEqual(out.args, ['worker', '--concurrency', '2']);
  });

  it('keeps an explicit FRUITS_REDIS_URL, and works without a password or TLS', () => {
    assert.equal(run({ FRUITS_REDIS_URL: 'redis://redis:6379', FRUITS_REDIS_HOST: 'other' }).url, 'redis://redis:6379');
    assert.equal(run({ FRUITS_REDIS_HOST: 'redis' }).url, 'redis://redis:6379');
    assert.equal(run({}).url, null);
  });

  it('does not invent a model directory when none is baked in', () => {
    // /opt/fruits/model does not exist outside the image.
    assert.equal(run({}).modelDir, null);
    assert.equal(run({ FRUITS_MODEL_DIR: '/models' }).modelDir, '/models');
  });

  it('runs `serve` with malloc settings that give memory back after a burst (kept when set), other commands without', () => {
    assert.equal(run({}, 'serve', '--run', 'x').malloc, '2 131072 262144');
    assert.equal(run({ MALLOC_ARENA_MAX: '4' }, 'serve').malloc, '4 131072 262144');
    assert.equal(run({}, 'worker').malloc, '  ');
  });

  after(() => rmSync(dir, { recursive: true, force: true }));
});
