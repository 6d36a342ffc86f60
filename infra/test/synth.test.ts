/**
 * The `cdk synth` equivalent, offline: a real App writes a cloud assembly (template, asset manifest,
 * staged Docker build context) to a temporary folder. Also runs the CDK app entry (bin/fruits.ts) as
 * the CDK CLI would, with CDK_OUTDIR and CDK_CONTEXT_JSON.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { loadConfig } from '../lib/config.js';
import { FruitsStack, REPO_ROOT } from '../lib/fruits-stack.js';
import { TEST_ENV } from './helpers.js';

const outdir = mkdtempSync(join(tmpdir(), 'fruits-cdk-'));
after(() => rmSync(outdir, { recursive: true, force: true }));

const app = new App({ outdir, context: { bakeModel: 'true' } });
new FruitsStack(app, 'Fruits-dev', { config: loadConfig(app.node), env: TEST_ENV });
const assembly = app.synth();

describe('cloud assembly (in-process synth)', () => {
  it('writes the manifest, the template and the asset manifest', () => {
    for (const file of ['manifest.json', 'Fruits-dev.template.json', 'Fruits-dev.assets.json']) {
      assert.ok(existsSync(join(outdir, file)), file);
    }
    const stack = assembly.getStackByName('Fruits-dev');
    assert.equal(stack.environment.region, 'eu-west-3');
    assert.ok(Object.keys(stack.template.Resources).length > 50);
    assert.equal(assembly.manifest.missing, undefined, 'no context lookups');
  });

  it('builds the image from the repository Dockerfile for linux/amd64, with the model build arg', () => {
    const assets = JSON.parse(readFileSync(join(outdir, 'Fruits-dev.assets.json'), 'utf8'));
    const images = Object.values<any>(assets.dockerImages);
    assert.equal(images.length, 1, 'one image shared by worker, coordinator and app');
    assert.equal(images[0].source.dockerFile, 'Dockerfile');
    assert.equal(images[0].source.platform, 'linux/amd64');
    assert.deepEqual(images[0].source.dockerBuildArgs, { BAKE_MODEL: '1' });
  });

  it('stages only the allow-listed build context (.dockerignore)', () => {
    const assets = JSON.parse(readFileSync(join(outdir, 'Fruits-dev.assets.json'), 'utf8'));
    const staged = join(outdir, Object.values<any>(assets.dockerImages)[0].source.directory);
    const top = readdirSync(staged).sort();
    for (const needed of ['Dockerfile', 'package.json', 'package-lock.json', '.npmrc', 'tsconfig.json', 'deploy']) {
      assert.ok(top.includes(needed), `${needed} in ${top}`);
    }
    for (const never of ['node_modules', 'infra', 'test', '.git', 'dist', 'shared', 'scratch', 'out']) {
      assert.ok(!top.includes(never), `${never} must not be in the build context`);
    }
    assert.ok(existsSync(join(staged, 'deploy/docker/entrypoint.sh')));
    if (existsSync(join(REPO_ROOT, 'src'))) assert.ok(top.includes('src'));
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
    const offenders = walk(staged).filter((f) => /node_modules|\.onnx$|\.jpe?g$|\.parquet$/.test(f));
    assert.deepEqual(offenders, []);
  });

  it('passes the built-in CloudFormation validation (warnings acknowledged)', () => {
    const file = join(outdir, 'validation-report.json');
    if (!existsSync(file)) return; // older aws-cdk-lib without the built-in validator
    const report = JSON.parse(readFileSync(file, 'utf8'));
    for (const plugin of report.pluginReports) {
      assert.equal(plugin.conclusion, 'success', plugin.pluginName);
      const open = (plugin.violations as any[]).filter((v) => !v.acknowledgedId && v.severity !== 'info');
      assert.deepEqual(
        open.map((v) => `${v.ruleName}: ${v.description}`),
        [],
      );
    }
  });
});

describe('CDK app entry (bin/fruits.ts), run like `cdk synth -c environment=ci`', () => {
  it('synthesizes Fruits-ci in eu-west-3 without an AWS account', () => {
    const out = mkdtempSync(join(tmpdir(), 'fruits-cdk-bin-'));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, CDK_OUTDIR: out, CDK_CONTEXT_JSON: JSON.stringify({ environment: 'ci' }) };
      delete env.CDK_DEFAULT_ACCOUNT;
      delete env.CDK_DEFAULT_REGION;
      execFileSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'infra/bin/fruits.ts')], {
        cwd: join(REPO_ROOT, 'infra'),
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
      const stack = manifest.artifacts['Fruits-ci'];
      assert.ok(stack, Object.keys(manifest.artifacts).join());
      assert.equal(stack.environment, 'aws://unknown-account/eu-west-3');
      assert.equal(manifest.missing, undefined);
      const template = JSON.parse(readFileSync(join(out, 'Fruits-ci.template.json'), 'utf8'));
      assert.equal(template.Outputs.Region.Value, 'eu-west-3');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
