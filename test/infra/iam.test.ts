/**
 * Least privilege, proven on the synthesized template: each role's statements are evaluated for
 * concrete requests (action + object key), including the ones a function must NOT be able to make.
 */
import { describe, expect, it } from 'vitest';
import { allows, buildStack, BUCKET_ARN, flattenValue, functionRoleId, logicalId, objectArn, roleStatements, type Statement } from './support.js';

const { stack, template } = buildStack();
const resources = template.toJSON().Resources as Record<string, unknown>;

function statementsOfFunction(prefix: string): Statement[] {
  return roleStatements(template, functionRoleId(template, logicalId(template, 'AWS::Lambda::Function', prefix)));
}

const roles = {
  plan: statementsOfFunction('PlanFunction'),
  planDay: statementsOfFunction('PlanDayFunction'),
  extract: statementsOfFunction('ExtractFunction'),
  transformWrite: statementsOfFunction('TransformWriteFunction'),
  validate: statementsOfFunction('ValidateFunction'),
  releaseDay: statementsOfFunction('ReleaseDayFunction'),
};

const DAY = 'lake/rentals/year=2025/month=03/day=01';
const KEYS = {
  staged: 'lake/_staging/20250302T013000000Z-0a1b2c3d/rentals.arrows',
  lock: 'lake/_locks/rentals/year=2025/month=03/day=01.json',
  dataFile: `${DAY}/part-20250302T013000000Z-0a1b2c3d-00000.parquet`,
  manifest: `${DAY}/_manifest.json`,
  quarantine: 'lake/_quarantine/rentals/year=2025/month=03/day=01/20250302T013000000Z-0a1b2c3d.jsonl',
  report: 'lake/_reports/rentals/year=2025/month=03/day=01/20250302T013000000Z-0a1b2c3d.json',
  users: 'lake/users/data.parquet',
  bikes: 'lake/bikes/data.parquet',
  outsideLake: 'other-team/rentals/year=2025/month=03/day=01/part-x.parquet',
  stagingOutsideLake: '_staging/20250302T013000000Z-0a1b2c3d/rentals.arrows',
} as const;

type Role = keyof typeof roles;
type Key = keyof typeof KEYS;
const can = (role: Role, action: string, key: Key) => allows(roles[role], resources, action, objectArn(KEYS[key]));
const canList = (role: Role, prefix: string) => allows(roles[role], resources, 's3:ListBucket', BUCKET_ARN, { 's3:prefix': prefix });

/** What each function may do, every (action, key) pair not listed must be denied. */
const EXPECTED: Record<Role, Partial<Record<'s3:GetObject' | 's3:PutObject' | 's3:DeleteObject', Key[]>>> = {
  plan: {},
  planDay: { 's3:GetObject': ['lock'], 's3:PutObject': ['lock'], 's3:DeleteObject': ['lock'] },
  releaseDay: { 's3:GetObject': ['lock'], 's3:DeleteObject': ['lock'] },
  extract: { 's3:GetObject': ['lock'], 's3:PutObject': ['staged', 'lock'], 's3:DeleteObject': ['staged', 'lock'] },
  transformWrite: { 's3:GetObject': ['staged', 'lock'], 's3:PutObject': ['dataFile', 'quarantine', 'users', 'bikes', 'lock'], 's3:DeleteObject': ['lock'] },
  validate: {
    's3:GetObject': ['dataFile', 'manifest', 'lock'],
    's3:PutObject': ['manifest', 'report', 'lock'],
    's3:DeleteObject': ['dataFile', 'quarantine', 'staged', 'lock'],
  },
};

describe('lake access per function', () => {
  for (const role of Object.keys(EXPECTED) as Role[]) {
    for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'] as const) {
      for (const key of Object.keys(KEYS) as Key[]) {
        const expected = EXPECTED[role][action]?.includes(key) ?? false;
        it(`${role} ${expected ? 'can' : 'cannot'} ${action} ${key}`, () => {
          expect(can(role, action, key)).toBe(expected);
        });
      }
    }
  }

  it('extract cannot write rentals/ nor delete anything outside staging and its lock', () => {
    // Act / Assess
    expect(can('extract', 's3:PutObject', 'dataFile')).toBe(false);
    expect(can('extract', 's3:PutObject', 'manifest')).toBe(false);
    for (const key of Object.keys(KEYS) as Key[]) expect(can('extract', 's3:DeleteObject', key)).toBe(key === 'staged' || key === 'lock');
  });

  it('plan-day touches nothing but the lock', () => {
    for (const key of Object.keys(KEYS) as Key[]) {
      for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']) expect(can('planDay', action, key), `${action} ${key}`).toBe(key === 'lock');
    }
    expect(canList('planDay', 'lake/_locks/rentals/')).toBe(true);
    expect(canList('planDay', 'lake/rentals/')).toBe(false);
  });

  it('validate cannot write a data file, only the manifest and the report', () => {
    expect(can('validate', 's3:PutObject', 'dataFile')).toBe(false);
    expect(allows(roles.validate, resources, 's3:PutObject', objectArn(`${DAY}/_manifest.json.parquet`))).toBe(false);
    expect(can('validate', 's3:PutObject', 'users')).toBe(false);
    expect(can('validate', 's3:PutObject', 'manifest')).toBe(true);
    expect(can('validate', 's3:PutObject', 'report')).toBe(true);
  });

  it('multipart uploads can be aborted where objects can be written', () => {
    expect(allows(roles.extract, resources, 's3:AbortMultipartUpload', objectArn(KEYS.staged))).toBe(true);
    expect(allows(roles.transformWrite, resources, 's3:AbortMultipartUpload', objectArn(KEYS.dataFile))).toBe(true);
    expect(allows(roles.extract, resources, 's3:AbortMultipartUpload', objectArn(KEYS.dataFile))).toBe(false);
  });

  it('listing is limited to the prefixes a stage reads or cleans', () => {
    expect(canList('transformWrite', 'lake/_staging/20250302T013000000Z-0a1b2c3d/')).toBe(true);
    expect(canList('transformWrite', 'lake/rentals/')).toBe(false);
    expect(canList('validate', `${DAY}/`)).toBe(true);
    expect(canList('validate', 'lake/_quarantine/rentals/year=2025/month=03/day=01/')).toBe(true);
    expect(canList('validate', 'lake/_staging/20250302T013000000Z-0a1b2c3d/')).toBe(true);
    expect(canList('validate', 'lake/')).toBe(false);
    expect(canList('validate', 'other-team/')).toBe(false);
    expect(allows(roles.validate, resources, 's3:ListBucket', BUCKET_ARN)).toBe(false);
    expect(canList('extract', 'lake/_staging/')).toBe(false);
    expect(canList('plan', 'lake/')).toBe(false);
  });

  it('no statement anywhere grants s3:* or an S3 action on every resource', () => {
    for (const [id, resource] of Object.entries(resources) as [string, { Type: string }][]) {
      if (resource.Type !== 'AWS::IAM::Role') continue;
      for (const statement of roleStatements(template, id)) {
        const actions = ([] as string[]).concat(statement.Action);
        expect(
          actions.filter((a) => a === '*' || a.toLowerCase() === 's3:*'),
          id,
        ).toEqual([]);
        if (actions.some((a) => a.toLowerCase().startsWith('s3:'))) {
          const arns = ([] as unknown[]).concat(statement.Resource).map((r) => flattenValue(r, resources));
          expect(
            arns.filter((arn) => arn === '*' || arn === 'arn:aws:s3:::*'),
            id,
          ).toEqual([]);
        }
      }
    }
  });
});

describe('database secret', () => {
  const secretArn = flattenValue(stack.resolve(stack.databaseSecret.secretArn), resources);

  it('only plan-day and extract can read it', () => {
    // Arrange
    const readers = Object.entries(resources)
      .filter(([, r]) => (r as { Type: string }).Type === 'AWS::IAM::Role')
      .filter(([id]) => allows(roleStatements(template, id), resources, 'secretsmanager:GetSecretValue', secretArn))
      .map(([id]) => id);
    // Assess
    expect(readers.sort()).toEqual(
      ['PlanDayFunction', 'ExtractFunction'].map((f) => functionRoleId(template, logicalId(template, 'AWS::Lambda::Function', f))).sort(),
    );
  });

  it('plan-day and extract get the secret ARN, and no function gets credentials in its environment', () => {
    const functions = template.findResources('AWS::Lambda::Function') as Record<
      string,
      { Properties: { Environment: { Variables: Record<string, unknown> } } }
    >;
    for (const [id, fn] of Object.entries(functions)) {
      const names = Object.keys(fn.Properties.Environment.Variables);
      expect(
        names.filter((n) => /PASSWORD|DATABASE_URL/.test(n)),
        id,
      ).toEqual([]);
      expect(names.includes('DATABASE_SECRET_ARN'), id).toBe(id.startsWith('ExtractFunction') || id.startsWith('PlanDayFunction'));
    }
  });
});

describe('orchestration roles', () => {
  const stateMachineRole = (
    resources[logicalId(template, 'AWS::StepFunctions::StateMachine', 'Pipeline')] as { Properties: { RoleArn: { 'Fn::GetAtt': [string, string] } } }
  ).Properties.RoleArn['Fn::GetAtt'][0];

  it('the state machine can invoke the six functions and touch no data', () => {
    const statements = roleStatements(template, stateMachineRole);
    for (const prefix of ['PlanFunction', 'PlanDayFunction', 'ReleaseDayFunction', 'ExtractFunction', 'TransformWriteFunction', 'ValidateFunction']) {
      expect(allows(statements, resources, 'lambda:InvokeFunction', `arn:test:${logicalId(template, 'AWS::Lambda::Function', prefix)}.Arn`)).toBe(true);
    }
    expect(allows(statements, resources, 'lambda:InvokeFunction', 'arn:aws:lambda:us-east-1:123456789012:function:other')).toBe(false);
    expect(allows(statements, resources, 's3:GetObject', objectArn(KEYS.dataFile))).toBe(false);
  });

  it('the schedule can only start executions of this state machine', () => {
    const schedule = Object.values(template.findResources('AWS::Scheduler::Schedule'))[0] as {
      Properties: { Target: { RoleArn: { 'Fn::GetAtt': [string, string] } } };
    };
    const statements = roleStatements(template, schedule.Properties.Target.RoleArn['Fn::GetAtt'][0]);
    const stateMachineArn = `arn:test:${logicalId(template, 'AWS::StepFunctions::StateMachine', 'Pipeline')}`;
    expect(statements.flatMap((s) => ([] as string[]).concat(s.Action))).toEqual(['states:StartExecution']);
    expect(allows(statements, resources, 'states:StartExecution', stateMachineArn)).toBe(true);
    expect(allows(statements, resources, 'states:StartExecution', 'arn:aws:states:us-east-1:123456789012:stateMachine:other')).toBe(false);
  });
});
