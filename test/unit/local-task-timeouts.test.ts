/**
 * A local run gives each stage's Task state its Lambda's timeout, as AWS does through the function
 * (aws-local-stepfunctions otherwise cuts a Task without `TimeoutSeconds` at 60 s: a 20,000,000-row
 * day's transform-write failed with `States.Timeout`).
 */
import { StateMachine } from 'aws-local-stepfunctions';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type AslDefinition, loadDefinition } from '../../src/pipeline/definition.js';
import { withLambdaTimeouts } from '../../src/pipeline/local-execution.js';
import { STAGE_LIST, STAGES } from '../../src/pipeline/stages.js';

/** Every Task state of `states`, nested ones included, by name. */
function taskStates(states: AslDefinition['States'], found = new Map<string, Record<string, unknown>>()): Map<string, Record<string, unknown>> {
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task') found.set(name, state);
    for (const nested of [state.ItemProcessor, state.Iterator, ...((state.Branches as unknown[] | undefined) ?? [])] as (
      | { States?: AslDefinition['States'] }
      | undefined
    )[])
      if (nested?.States) taskStates(nested.States, found);
  }
  return found;
}

/** Runs a machine of the definition's transform-write Task alone, whose handler answers after `ms` (fake time). */
async function transformWriteTaking(ms: number, states: AslDefinition['States']): Promise<string> {
  const task: Record<string, unknown> = { ...taskStates(states).get(STAGES.transformWrite.state)!, End: true };
  // Alone: no next state, and no retry or catch to hide the timeout.
  for (const field of ['Next', 'Retry', 'Catch']) delete task[field];
  const machine = new StateMachine({ StartAt: 'T', States: { T: task } } as never, { validationOptions: { noValidate: true } });
  const slow = () => new Promise((resolve) => setTimeout(() => resolve({ done: true }), ms));
  const execution = machine.run({} as never, { overrides: { taskResourceLocalHandlers: { T: slow } as never } });
  const outcome = execution.result.then(
    () => 'succeeded',
    (error: Error & { cause?: Error }) => error.cause?.name ?? error.name,
  );
  await vi.advanceTimersByTimeAsync(ms + 1_000);
  return outcome;
}

describe('withLambdaTimeouts', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("gives every stage's Task state its Lambda's timeout", () => {
    // Act
    const tasks = taskStates(withLambdaTimeouts(loadDefinition({ backfillConcurrency: 1 })).States);

    // Assess
    for (const spec of STAGE_LIST) expect(tasks.get(spec.state)?.TimeoutSeconds, spec.state).toBe(spec.lambda.timeoutSeconds);
  });

  it('lets a local transform-write run past 60 s, up to its Lambda timeout', async () => {
    // Prepare
    vi.useFakeTimers();
    const deployed = loadDefinition({ backfillConcurrency: 1 }).States;
    const local = withLambdaTimeouts(loadDefinition({ backfillConcurrency: 1 })).States;

    // Act
    const asDeployed = await transformWriteTaking(90_000, deployed);
    const asRunLocally = await transformWriteTaking(90_000, local);
    const pastItsTimeout = await transformWriteTaking((STAGES.transformWrite.lambda.timeoutSeconds + 10) * 1000, local);

    // Assess
    expect(asDeployed).toBe('States.Timeout');
    expect(asRunLocally).toBe('succeeded');
    expect(pastItsTimeout).toBe('States.Timeout');
  });
});
