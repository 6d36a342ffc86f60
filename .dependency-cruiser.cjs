/**
 * The layer table of ARCHITECTURE.md as dependency rules, checked by `npm run depcheck` (part of `npm test`).
 *
 * Imports point down the table only, never sideways between siblings, never up, never in circles. Unit tests
 * (`src/**\/x.test.ts`) obey the same table as the code beside them: a test that needs a higher layer belongs in
 * test/. Each rule names the layer it protects, so a failing `npm test` says which import broke which line of the
 * table.
 */

/** Top to bottom. One entry per rank; folders on the same rank are siblings and may not import each other. */
const LAYERS = [
  // The CLI sits above the public API it is built on (ARCHITECTURE.md lists index.ts first as what users import).
  ['cli'], // argument parsing, help, progress, exit codes
  ['index'], // src/index.ts: the public library API
  // api/: the use cases that choose an engine (extract); app/ is its sibling, neither needs the other.
  ['api', 'app'], // the library's use cases; HTTP API + web page
  ['engine'], // local (worker threads) and bullmq engines
  ['classifier'], // references, scenes, training, views, decision
  ['pipeline'], // the stages as idempotent functions of a shard
  ['dataset'], // every file of a run: schemas, part names, manifest, plan, run spec
  // model sits above images: the model declares which of the images layer's normalisations and tensor layouts its
  // input takes (ARCHITECTURE.md lists pca, model, images on one line; this is the order the code has).
  ['pca', 'model'],
  ['images'],
  ['storage'],
  ['catalog', 'onnx', 'wasm'],
];

/** Besides "down only": what a layer must not know although it sits above it (ARCHITECTURE.md's last column). */
const MUST_NOT_KNOW = {
  app: ['engine'],
  pca: ['images', 'storage'],
  model: ['storage'],
  images: ['storage'],
};

/** The queue libraries: only the bullmq engine (and, until item 1 of issue 12 lands, the CLI) talks to Redis. */
const QUEUES = '(^|/)node_modules/(bullmq|ioredis|@bull-board/[^/]+)/';
const QUEUE_FREE = ['app', 'classifier', 'pipeline', 'dataset', 'pca', 'model', 'images', 'storage', 'catalog', 'onnx', 'wasm'];

/**
 * Known exceptions, each with the reason it is not fixed yet. An exception is one module to one module, never a
 * whole folder, so a new import of the same kind still fails.
 */
// None left: `fruits train`, which drives the local engine, moved up to api/ beside extract (issue 12 item 1).
const EXCEPTIONS = [];

const path = (folder) => (folder === 'index' ? '^src/index\\.ts$' : `^src/${folder}/`);

const forbidden = [];
LAYERS.forEach((rank, r) => {
  for (const folder of rank) {
    const upOrSideways = LAYERS.slice(0, r + 1)
      .flat()
      .filter((other) => other !== folder);
    const banned = [...upOrSideways, ...(MUST_NOT_KNOW[folder] ?? [])];
    if (banned.length === 0) continue;
    const exceptions = EXCEPTIONS.filter((e) => e.from.startsWith(`^src/${folder}/`));
    forbidden.push({
      name: `layer-${folder}`,
      comment: `${folder} may import only the layers below it in ARCHITECTURE.md, and not: ${banned.join(', ')}`,
      severity: 'error',
      from: { path: path(folder), ...(exceptions.length ? { pathNot: exceptions.map((e) => e.from) } : {}) },
      to: { path: banned.map(path) },
    });
    for (const e of exceptions) {
      // The excepted module obeys the same rule for every target but the named one.
      forbidden.push({
        name: `layer-${folder}`,
        comment: `${folder} may import only the layers below it in ARCHITECTURE.md (known exception: ${e.to})`,
        severity: 'error',
        from: { path: e.from },
        to: { path: banned.map(path), pathNot: e.to },
      });
    }
  }
});

module.exports = {
  forbidden: [
    ...forbidden,
    {
      name: 'no-queues',
      comment: `only src/engine/bullmq (and src/cli) may use the queue libraries; ARCHITECTURE.md: "must not know queues"`,
      severity: 'error',
      from: { path: QUEUE_FREE.map(path) },
      to: { path: QUEUES },
    },
    {
      // Issue 12 item 1: the CLI is a thin layer over the public API; `npm test` shows it imports nothing else.
      name: 'cli-over-public-api',
      comment: 'the CLI imports the public API (src/index.ts) only, like any other user of the library',
      severity: 'error',
      from: { path: '^src/cli/', pathNot: '\\.test\\.ts$' },
      to: { path: '^src/', pathNot: ['^src/cli/', '^src/index\\.ts$'] },
    },
    {
      // README "Layout of the code": a test beside the code tests that code; a run through the CLI or a Redis
      // cluster is an end-to-end test and lives in test/. One exception: identifier-thread needs a real run
      // folder to load, and `fruits extract` is what makes one.
      name: 'unit-tests-stay-unit',
      comment: 'src/**/x.test.ts does not drive the CLI or start Redis: that test belongs in test/',
      severity: 'error',
      from: { path: '^src/.*\\.test\\.ts$', pathNot: ['^src/app/identifier-thread\\.test\\.ts$'] },
      to: { path: '^test/support/(cli|redis-server)\\.ts$' },
    },
    {
      name: 'no-circular',
      comment: 'imports never go in circles (ARCHITECTURE.md); a cycle also hides which layer a module belongs to',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'production-code-not-from-tests',
      comment: 'code that ships (src/, not its *.test.ts) never imports test/ or bench/ helpers',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that does not resolve is a typo or a missing dependency',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'not-to-dev-dep',
      comment: 'code that ships uses only "dependencies": a devDependency is missing from `npm install --omit=dev`',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.test.json' },
    // Type-only imports count: a type import up the table couples the layers as much as a value import does.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
