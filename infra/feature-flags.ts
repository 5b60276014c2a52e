/**
 * The CDK feature flags of this app: those `cdk init` writes for the aws-cdk-lib in use (its
 * `recommended-feature-flags.json`), pinned in `cdk.json`, where the CLI (`cdk flags`) reads them.
 * The stack sets them on itself too, so that the tests and `synthesizeDefinition`, whose Apps do not
 * read `cdk.json`, build the template `cdk deploy` does.
 */
import { readFileSync } from 'node:fs';

/** `cdk.json`'s feature flags (its context keys starting with `@`), by name. */
export const FEATURE_FLAGS: Readonly<Record<string, unknown>> = Object.fromEntries(
  Object.entries((JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }).context).filter(([key]) =>
    key.startsWith('@'),
  ),
);
