/**
 * The lake's protocol keeps its state in objects (`LakeSession`, `DayPublication`,
 * `InterruptToken`), never in module state: two executions in one process must not share an
 * interrupt flag or a set of held leases. This reads every module of `src/lake/` and fails on a
 * module-level `let`/`var`, or a module-level collection (`new Map/Set/...`, an array) it could
 * mutate; a lookup table declared read-only (`ReadonlySet`, `ReadonlyMap`, `readonly T[]`) is fine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const LAKE = join(import.meta.dirname, '../../src/lake');

/** Module-level declarations of `source` that hold mutable state, as `name (line)`. */
function moduleState(source: string, file = 'module.ts'): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2024, true);
  const found: string[] = [];
  for (const statement of sf.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const list = statement.declarationList;
    const constant = (list.flags & ts.NodeFlags.Const) !== 0;
    for (const declaration of list.declarations) {
      const init = declaration.initializer;
      const readOnly = /^(ReadonlySet|ReadonlyMap|readonly )/.test(declaration.type?.getText(sf) ?? '');
      const collection =
        init !== undefined &&
        !readOnly &&
        ((ts.isNewExpression(init) && /^(Map|Set|WeakMap|WeakSet|Array)$/.test(init.expression.getText(sf))) || ts.isArrayLiteralExpression(init));
      if (!constant || collection) found.push(`${declaration.name.getText(sf)} (line ${sf.getLineAndCharacterOfPosition(declaration.getStart(sf)).line + 1})`);
    }
  }
  return found;
}

describe('src/lake/ holds no mutable module state', () => {
  it('finds a module-level let and a module-level Set (the check itself)', () => {
    const source =
      'let interrupted = false;\nconst inFlight = new Set();\nconst LIMIT = 16;\nconst CODES: ReadonlySet<string> = new Set();\nexport class A { #x = new Map(); }';
    expect(moduleState(source)).toEqual(['interrupted (line 1)', 'inFlight (line 2)']);
  });

  it('in any of its modules', () => {
    const modules = readdirSync(LAKE).filter((name) => name.endsWith('.ts'));
    expect(modules.length).toBeGreaterThan(5);
    const state = modules.flatMap((name) => moduleState(readFileSync(join(LAKE, name), 'utf8'), name).map((found) => `${name}: ${found}`));
    expect(state).toEqual([]);
  });
});
