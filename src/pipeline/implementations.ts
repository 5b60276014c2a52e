/**
 * Where each registry entry's implementation lives, loaded on first use: the local executor and
 * the benchmark run every stage; a Lambda bundle imports its own stage only (`functions/<name>/`).
 * The mapped type makes a registry entry without an implementation a type error.
 */
import type { AnyStage } from './stage.js';
import type { StageKey } from './stages.js';

const IMPLEMENTATIONS: { readonly [K in StageKey]: () => Promise<{ stage: AnyStage }> } = {
  plan: () => import('./plan/index.js'),
  snapshot: () => import('./snapshot/index.js'),
  planDay: () => import('./plan-day/index.js'),
  extract: () => import('./extract/index.js'),
  transformWrite: () => import('./transform-write/index.js'),
  validate: () => import('./validate/index.js'),
  releaseDay: () => import('./release-day/index.js'),
};

/** The implementation of the stage `key`. */
export async function loadStage(key: StageKey): Promise<AnyStage> {
  return (await IMPLEMENTATIONS[key]()).stage;
}
