/** Shared helpers of the infra tests: offline synthesis of the stack with a given CDK context. */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { loadConfig } from '../lib/config.js';
import { FruitsStack } from '../lib/fruits-stack.js';

export const TEST_ENV = { account: '123456789012', region: 'eu-west-3' } as const;

export interface Synthesized {
  app: App;
  stack: FruitsStack;
  template: Template;
}

/**
 * Synthesize the stack offline. A registry image stands in for the Docker asset, so the repository is not
 * hashed (the asset path is covered by synth.test.ts).
 */
export function synth(context: Record<string, unknown> = {}): Synthesized {
  const app = new App({ context });
  const stack = new FruitsStack(app, 'Fruits-test', {
    config: loadConfig(app.node),
    env: TEST_ENV,
    image: ecs.ContainerImage.fromRegistry('fruits:test'),
  });
  return { app, stack, template: Template.fromStack(stack) };
}

export type Json = Record<string, any>;

export function resourcesOfType(template: Template, type: string): [string, Json][] {
  return Object.entries(template.findResources(type));
}

/** The statements of every AWS::IAM::Policy attached to the role with the given logical id. */
export function statementsOfRole(template: Template, roleLogicalId: string): Json[] {
  return resourcesOfType(template, 'AWS::IAM::Policy')
    .filter(([, policy]) => (policy.Properties.Roles as Json[]).some((r) => r.Ref === roleLogicalId))
    .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as Json[]);
}

export function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
