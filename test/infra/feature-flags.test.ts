/**
 * The feature flags: `cdk.json` pins every flag `cdk init` writes for the aws-cdk-lib in use (else
 * `cdk synth` prints "N feature flags are not configured"), and the stack carries them itself, so
 * the tests' Apps (which do not read `cdk.json`) build the template `cdk deploy` builds.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { App, FeatureFlags } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { FEATURE_FLAGS } from '../../infra/feature-flags.js';
import { LakeEtlStack } from '../../infra/lake-etl-stack.js';
import { buildStack } from './support.js';

const require = createRequire(import.meta.url);
const recommended = JSON.parse(readFileSync(require.resolve('aws-cdk-lib/recommended-feature-flags.json'), 'utf8')) as Record<string, unknown>;
const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> };

describe('feature flags', { timeout: 240_000 }, () => {
  it('cdk.json sets every flag aws-cdk-lib recommends, to the recommended value (what cdk init writes)', () => {
    const unset = Object.keys(recommended).filter((flag) => !(flag in cdkJson.context));
    expect(unset, 'run `npx cdk flags --unstable=flags` and pin them in cdk.json').toEqual([]);
    for (const [flag, value] of Object.entries(recommended)) expect(cdkJson.context[flag], flag).toEqual(value);
  });

  it('are the ones the stack carries, whatever App builds it', () => {
    // Act
    const { stack } = buildStack();
    // Assess
    expect(FEATURE_FLAGS).toEqual(Object.fromEntries(Object.entries(cdkJson.context).filter(([key]) => key.startsWith('@'))));
    expect(FeatureFlags.of(stack).isEnabled('@aws-cdk/aws-iam:minimizePolicies')).toBe(true);
  });

  it('build the same template from an App without them as from the App the CLI makes from cdk.json', () => {
    // Arrange
    const cliApp = new App({ context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
    // Act
    const fromCli = Template.fromStack(new LakeEtlStack(cliApp, 'TestStack')).toJSON();
    // Assess
    expect(buildStack().template.toJSON()).toEqual(fromCli);
  });
});
