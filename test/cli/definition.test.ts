/**
 * The definition `npm run build` writes (`dist/definition.json`) is the one the CDK stack
 * synthesizes, and `loadDefinition` sets the Maps' concurrency as the stack's props would.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { synthesizeDefinition } from '../../infra/definition.js';
import { DAYS_FAILED_ERROR as INFRA_DAYS_FAILED_ERROR, STATE_NAMES, TASK_STATES } from '../../infra/state-machine.js';
import { DAYS_FAILED_ERROR, definitionPath, FLOW_STATES, loadDefinition } from '../../src/pipeline/definition.js';

/** The message `act` throws. */
function thrownBy(act: () => unknown): string {
  try {
    act();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a throw');
}

describe('dist/definition.json', () => {
  it('equals the definition the stack synthesizes with its default props', () => {
    // Act
    const emitted = JSON.parse(readFileSync(definitionPath(), 'utf8')) as unknown;

    // Assess
    expect(emitted).toEqual(synthesizeDefinition());
  });
});

describe('loadDefinition', () => {
  it.each([
    [{ backfillConcurrency: 7, rangeConcurrency: 3 }],
    [{ backfillConcurrency: 1, rangeConcurrency: 25 }],
    [{ backfillConcurrency: 10_000, rangeConcurrency: 1 }],
  ])('sets both Maps as the stack synthesizes them for %j', (props) => {
    // Act
    const loaded = loadDefinition(props);

    // Assess
    expect(loaded).toEqual(synthesizeDefinition(props));
  });

  it("keeps the stack's default range concurrency when only backfillConcurrency is given", () => {
    // Act
    const loaded = loadDefinition({ backfillConcurrency: 2 });

    // Assess
    expect(loaded).toEqual(synthesizeDefinition({ backfillConcurrency: 2 }));
  });

  it.each([
    [{ backfillConcurrency: 0 }],
    [{ backfillConcurrency: 10_001 }],
    [{ backfillConcurrency: 2.5 }],
    [{ backfillConcurrency: 2, rangeConcurrency: 0 }],
    [{ backfillConcurrency: 2, rangeConcurrency: 26 }],
  ])('refuses %j with the error the stack gives', (props) => {
    // Act
    const message = thrownBy(() => loadDefinition(props));

    // Assess
    expect(message).toBe(thrownBy(() => synthesizeDefinition(props)));
  });
});

describe('the names of the definition free of CDK', () => {
  it('are the ones the stack builds it with', () => {
    // Assess: until infra/state-machine.ts takes them from src/pipeline/definition.ts.
    expect({ ...TASK_STATES, ...FLOW_STATES }).toEqual(STATE_NAMES);
    expect(DAYS_FAILED_ERROR).toBe(INFRA_DAYS_FAILED_ERROR);
  });
});
