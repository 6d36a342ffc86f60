#!/usr/bin/env node
/**
 * CDK app entry: `cd infra && npx cdk synth|deploy|destroy [-c key=value …]` (cdk.json runs this file with tsx).
 * Settings are CDK context values, see ../lib/config.ts; e.g. `-c environment=prod -c maxWorkers=40`.
 */
import { App } from 'aws-cdk-lib';
import { loadConfig } from '../lib/config.js';
import { FruitsStack } from '../lib/fruits-stack.js';

const app = new App();
const config = loadConfig(app.node);

new FruitsStack(app, `Fruits-${config.environment}`, {
  config,
  // The region is fixed by the config (default eu-west-3), never by the CLI profile, so data stays in the EU.
  // The account comes from the CLI credentials; unset (env-agnostic) for a plain offline synth.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: config.region },
});

app.synth();
