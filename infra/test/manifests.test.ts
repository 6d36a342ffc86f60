/**
 * The alternatives to the AWS stack — docker compose (one machine) and Kubernetes with KEDA — parsed and
 * checked for the facts that must match the CDK stack: image, commands, environment names, the BullMQ list
 * KEDA watches, non-root containers. Where the tools are installed, also `docker-compose config` and
 * `kubectl kustomize` (both offline).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CONTAINER_PATHS } from '../lib/constructs/fruits-task.js';
import { APP_PORT, HEALTH_CHECK_PATH } from '../lib/constructs/app-service.js';
import { BULLMQ, PENDING_SHARDS } from '../lib/constructs/worker-service.js';
import { REPO_ROOT } from '../lib/fruits-stack.js';

type Json = Record<string, any>;

/**
 * YAML parser: the `yaml` package bundled inside aws-cdk-lib (a bundledDependency, so present whenever
 * aws-cdk-lib is). The project itself has no YAML dependency.
 */
const cdkRequire = createRequire(join(dirname(createRequire(import.meta.url).resolve('aws-cdk-lib/package.json')), 'package.json'));
const YAML = cdkRequire('yaml') as {
  parseAllDocuments(text: string, options?: { merge?: boolean }): { errors: unknown[]; toJSON(): unknown }[];
};

function load(path: string): Json[] {
  const docs = YAML.parseAllDocuments(readFileSync(join(REPO_ROOT, path), 'utf8'), { merge: true });
  for (const d of docs) assert.deepEqual(d.errors, [], `${path}: YAML errors`);
  return docs.map((d) => d.toJSON() as Json).filter(Boolean);
}

const have = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

describe('docker compose (one machine)', () => {
  const [compose] = load('deploy/compose/docker-compose.yml');
  const services = compose.services as Json;
  const fruitsServices = Object.entries(services).filter(([name]) => name !== 'redis');

  it('redis keeps the queue: append-only file and noeviction', () => {
    const command = services.redis.command.join(' ');
    assert.match(command, /--appendonly yes/);
    assert.match(command, /--maxmemory-policy noeviction/);
  });

  it('every fruits service runs the fruits image as uid 1000, read-only, with the shared model cache', () => {
    assert.deepEqual(fruitsServices.map(([n]) => n).sort(), ['app', 'coordinator', 'model', 'worker']);
    for (const [name, s] of fruitsServices) {
      assert.equal(s.image, 'fruits:latest', name);
      assert.equal(s.user, '1000:1000', name);
      assert.equal(s.read_only, true, name);
      assert.equal(s.init, true, name);
      assert.equal(s.environment.FRUITS_REDIS_URL, 'redis://redis:6379', name);
      assert.ok((s.volumes as string[]).includes(`model-cache:${CONTAINER_PATHS.cache}`), name);
    }
  });

  it('N workers, the coordinator on demand, the app with its health check', () => {
    assert.deepEqual(services.worker.command, ['worker']);
    assert.equal(services.worker.environment.FRUITS_ALLOW, '/data', 'workers accept the shared folder, not only their cwd');
    assert.match(String(services.worker.deploy.replicas), /WORKERS|^\d+$/);
    assert.deepEqual(services.coordinator.profiles, ['run']);
    assert.deepEqual(services.coordinator.command.slice(0, 1), ['extract']);
    assert.deepEqual(services.coordinator.command.slice(-2), ['--engine', 'bullmq']);
    assert.deepEqual(services.app.command.slice(-2), ['--port', String(APP_PORT)]);
    assert.ok(services.app.healthcheck.test.join(' ').includes(HEALTH_CHECK_PATH));
  });

  it('`docker-compose config` accepts it', (t) => {
    const bin = have('docker-compose', ['version']) ? ['docker-compose'] : have('docker', ['compose', 'version']) ? ['docker', 'compose'] : undefined;
    if (!bin) return t.skip('docker compose is not installed');
    execFileSync(bin[0], [...bin.slice(1), '-f', join(REPO_ROOT, 'deploy/compose/docker-compose.yml'), 'config', '-q'], { stdio: 'pipe' });
  });
});

describe('kubernetes + KEDA', () => {
  const files = ['namespace.yaml', 'serviceaccount.yaml', 'worker.yaml', 'keda.yaml', 'app.yaml', 'run/coordinator-job.yaml'];
  const objects = files.flatMap((f) => load(`deploy/k8s/${f}`));
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const podSpecs = objects
    .filter((o) => ['Deployment', 'Job'].includes(o.kind))
    .map((o) => [`${o.kind}/${o.metadata.name}`, o.spec.template.spec] as [string, Json]);

  it('every pod runs as non-root, read-only, without privilege escalation or capabilities', () => {
    assert.equal(podSpecs.length, 3);
    for (const [name, spec] of podSpecs) {
      assert.equal(spec.securityContext.runAsNonRoot, true, name);
      assert.equal(spec.securityContext.runAsUser, 1000, name);
      assert.equal(spec.securityContext.seccompProfile.type, 'RuntimeDefault', name);
      for (const c of spec.containers as Json[]) {
        assert.equal(c.securityContext.runAsNonRoot, true, name);
        assert.equal(c.securityContext.readOnlyRootFilesystem, true, name);
        assert.equal(c.securityContext.allowPrivilegeEscalation, false, name);
        assert.deepEqual(c.securityContext.capabilities.drop, ['ALL'], name);
        assert.ok(
          (c.volumeMounts as Json[]).some((m) => m.mountPath === CONTAINER_PATHS.cache),
          name,
        );
      }
    }
  });

  it('every container is the fruits image, with the environment names of the ECS tasks', () => {
    for (const [name, spec] of podSpecs) {
      for (const c of spec.containers as Json[]) {
        assert.equal(c.image, 'fruits', name);
        const env = Object.fromEntries((c.env as Json[]).map((e) => [e.name, e.value ?? e.valueFrom]));
        assert.equal(env.AWS_REGION, 'eu-west-3', name);
        assert.equal(env.XDG_CACHE_HOME, CONTAINER_PATHS.cache, name);
        if (name !== 'Deployment/fruits-app') {
          assert.equal(env.FRUITS_REDIS_TLS, 'true', name);
          for (const key of ['host', 'port', 'password']) {
            assert.equal(env[`FRUITS_REDIS_${key.toUpperCase()}`].secretKeyRef.name, 'fruits-redis', name);
          }
        }
      }
    }
    for (const k of ['deploy/k8s/kustomization.yaml', 'deploy/k8s/run/kustomization.yaml']) {
      const [kustomization] = load(k);
      assert.deepEqual(
        kustomization.images.map((i: Json) => i.name),
        ['fruits'],
        k,
      );
      for (const r of kustomization.resources as string[]) assert.ok(existsSync(join(REPO_ROOT, dirname(k), r)), `${k}: ${r}`);
    }
  });

  it('KEDA scales the workers from 0 on the BullMQ list fruits:shards:wait', () => {
    const [scaled] = byKind('ScaledObject');
    const [worker] = byKind('Deployment').filter((d) => d.metadata.name === 'fruits-worker');
    assert.equal(worker.spec.replicas, 0);
    assert.deepEqual(worker.spec.template.spec.containers[0].args, ['worker']);
    const allow = (worker.spec.template.spec.containers[0].env as Json[]).find((e) => e.name === 'FRUITS_ALLOW');
    assert.equal(allow?.value, 's3://BUCKET/input/,s3://BUCKET/runs/', 'the same prefixes as the ECS workers');
    assert.equal(scaled.spec.scaleTargetRef.name, worker.metadata.name);
    assert.equal(scaled.spec.minReplicaCount, 0);
    assert.ok(scaled.spec.maxReplicaCount >= 1);
    const lists = (scaled.spec.triggers as Json[]).filter((t) => t.type === 'redis').map((t) => t.metadata.listName);
    const waitList = `${BULLMQ.prefix}:${BULLMQ.queue}:wait`;
    assert.equal(waitList, 'fruits:shards:wait');
    assert.ok(lists.includes(waitList), lists.join());
    assert.equal(PENDING_SHARDS.dimensions.Queue, BULLMQ.queue, 'the ECS metric names the same queue');
    const [auth] = byKind('TriggerAuthentication');
    for (const t of scaled.spec.triggers as Json[]) assert.equal(t.authenticationRef.name, auth.metadata.name);
  });

  it('the coordinator is a one-shot Job, the app a Deployment + Service with /healthz probes', () => {
    const [job] = byKind('Job');
    assert.equal(job.spec.backoffLimit, 0);
    assert.equal(job.spec.template.spec.restartPolicy, 'Never');
    const args = job.spec.template.spec.containers[0].args as string[];
    assert.equal(args[0], 'extract');
    assert.deepEqual(args.slice(-2), ['--engine', 'bullmq']);
    const [app] = byKind('Deployment').filter((d) => d.metadata.name === 'fruits-app');
    const c = app.spec.template.spec.containers[0];
    assert.deepEqual(c.args.slice(-2), ['--port', String(APP_PORT)]);
    assert.equal(c.ports[0].containerPort, APP_PORT);
    assert.equal(c.readinessProbe.httpGet.path, HEALTH_CHECK_PATH);
    const [service] = byKind('Service');
    assert.deepEqual(service.spec.selector, app.spec.selector.matchLabels);
  });

  it('`kubectl kustomize` builds both kustomizations', (t) => {
    if (!have('kubectl', ['version', '--client'])) return t.skip('kubectl is not installed');
    for (const dir of ['deploy/k8s', 'deploy/k8s/run']) {
      const out = execFileSync('kubectl', ['kustomize', join(REPO_ROOT, dir)], { encoding: 'utf8' });
      assert.match(out, /image: REGISTRY\/fruits:latest/);
    }
  });
});
