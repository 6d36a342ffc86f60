import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testAppOptions } from '../../test/app/support/server.js';
import { createApp, type PhotoIdentifier } from './server.js';

const identifier: PhotoIdentifier = {
  runId: 'run-1',
  modelSha256: '0'.repeat(64),
  classes: ['Apple Braeburn 1'],
  pending: 0,
  identify: () => Promise.reject(new Error('not called')),
};

function app() {
  return createApp(testAppOptions(identifier, { rateLimitPerMinute: 30, version: '9.9.9' }));
}

type Json = any;

/** Every `$ref` in `node`, with where it was found. */
function refsOf(node: Json, at = '#'): [string, string][] {
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => (key === '$ref' ? [[String(value), at] as [string, string]] : refsOf(value, `${at}/${key}`)));
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

test('GET /openapi.json: an OpenAPI 3.1 document of every API route the app serves, generated from the route schemas', async () => {
  const served = app();
  const response = await served.request('/openapi.json');
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const doc = (await response.json()) as Json;

  // The OpenAPI 3 object's required structure.
  assert.match(doc.openapi, /^3\.1\.\d+$/);
  assert.equal(typeof doc.info.title, 'string');
  assert.equal(doc.info.version, '9.9.9');
  assert.equal(typeof doc.paths, 'object');

  // Every route the app answers (but the page and its assets, which are not the API) is in the document, and
  // nothing else: the document comes from the routes' declarations.
  const routes = new Set(
    served.routes
      .filter((r) => r.method !== 'ALL' && !['/', '/app.js', '/styles.css', '/openapi.json'].includes(r.path))
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
  );
  const documented = new Set(
    Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((k) => METHODS.includes(k))
        .map((m) => `${m} ${path}`),
    ),
  );
  assert.deepEqual([...documented].sort(), [...routes].sort());
  assert.deepEqual([...routes].sort(), ['get /api/fruits', 'get /api/fruits/{id}', 'get /healthz', 'post /api/feedback', 'post /api/identify']);

  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const method of Object.keys(item).filter((k) => METHODS.includes(k))) {
      const operation = item[method];
      const where = `${method} ${path}`;
      const codes = Object.keys(operation.responses);
      assert.ok(codes.length > 0, `${where}: responses`);
      for (const code of codes) {
        assert.match(code, /^[1-5]\d\d$/, `${where}: response code ${code}`);
        const answer = operation.responses[code];
        assert.equal(typeof answer.description, 'string', `${where} ${code}: description`);
        assert.ok(answer.content?.['application/json']?.schema, `${where} ${code}: a JSON schema`);
        if (code >= '400') assert.deepEqual(answer.content['application/json'].schema, { $ref: '#/components/schemas/Error' }, `${where} ${code}`);
      }
      assert.ok(
        codes.some((c) => c.startsWith('2')),
        `${where}: a success answer`,
      );
      for (const { name, in: location } of (operation.parameters ?? []) as Json[]) {
        if (location === 'path') assert.ok(path.includes(`{${name}}`), `${where}: path parameter ${name}`);
      }
    }
  }

  // The request schemas of the photo routes, and the answers' schemas.
  const identify = doc.paths['/api/identify'].post;
  assert.deepEqual(Object.keys(identify.requestBody.content).sort(), ['application/octet-stream', 'image/*', 'multipart/form-data']);
  assert.equal(identify.requestBody.content['multipart/form-data'].schema.properties.photo.format, 'binary');
  assert.deepEqual(identify.requestBody.content['multipart/form-data'].schema.required, ['photo']);
  assert.deepEqual(
    identify.parameters.map((p: Json) => [p.name, p.in]),
    [['method', 'query']],
  );
  assert.deepEqual(identify.responses['200'].content['application/json'].schema, { $ref: '#/components/schemas/Answer' });
  assert.deepEqual(Object.keys(identify.responses).sort(), ['200', '400', '405', '413', '415', '422', '429', '431', '503']);
  for (const code of ['429', '503']) assert.deepEqual(identify.responses[code].headers, { 'Retry-After': { schema: { type: 'integer' } } }, code);
  const feedback = doc.paths['/api/feedback'].post.requestBody.content['multipart/form-data'].schema;
  assert.deepEqual([...feedback.required].sort(), ['correctClass', 'photo']);
  assert.equal(feedback.properties.note.maxLength, 500);
  assert.deepEqual(Object.keys(doc.paths['/api/feedback'].post.responses).sort(), ['200', '201', '400', '413', '415', '422', '429', '431', '503', '507']);
  assert.deepEqual(
    doc.paths['/api/fruits/{id}'].get.parameters.map((p: Json) => [p.name, p.in, p.required]),
    [['id', 'path', true]],
  );

  const schemas = doc.components.schemas as Record<string, Json>;
  for (const [ref, at] of refsOf(doc))
    assert.ok(ref.startsWith('#/components/schemas/') && schemas[ref.slice('#/components/schemas/'.length)], `${ref} at ${at}`);
  assert.deepEqual(schemas.Error.required, ['error']);
  assert.deepEqual([...schemas.Error.properties.error.required].sort(), ['code', 'message']);
  for (const field of ['runId', 'predictions', 'notSure', 'reasons', 'method', 'fruit', 'knn', 'ood', 'image', 'classifier', 'views', 'timings']) {
    assert.ok(schemas.Answer.required.includes(field), `Answer.${field} is required`);
  }
  assert.ok(!schemas.Answer.required.includes('region'));
  assert.ok(schemas.Fruit.properties.scientificName && schemas.Fruit.properties.variety, 'the catalog entry and the variety');
});

test('the document is the same on every request', async () => {
  const served = app();
  const a = await (await served.request('/openapi.json')).text();
  assert.equal(await (await served.request('/openapi.json')).text(), a);
});
