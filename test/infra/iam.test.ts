/**
 * Least privilege, proven on the synthesized template: each role's statements are evaluated for
 * concrete requests (action + resource), as IAM would (NotAction, NotResource and Deny included).
 *
 * - The lake matrix: for every stage, every object action its access kinds grant and every sample
 *   key, the role allows exactly what the stage's registry entry (`STAGES[...].access`, patterns of
 *   `KEY_PATTERNS` and the Iceberg tables' metadata) says. Nothing else grants lake access.
 * - Glue: a stage that commits an Iceberg table (its access writes the table's metadata) may get
 *   and update that table's Glue table, in the stack's database only; no other stage may.
 * - What no function may do whatever its registry entry: change the bucket, touch object versions,
 *   reach outside the lake prefix, pass or change roles, change or invoke functions, start or stop
 *   executions, read another secret or another state machine's executions.
 */
import { describe, expect, it } from 'vitest';
import type { CfnRole } from 'aws-cdk-lib/aws-iam';
import type { EtlFunction } from '../../infra/constructs/etl-function.js';
import { glueIcebergTableName } from '../../src/lake/iceberg/glue-catalog.js';
import { ICEBERG_TABLES } from '../../src/lake/iceberg/table-model.js';
import { icebergTablesOf, STAGE_LIST, STAGES, type LakeAccess, type StageKey } from '../../src/pipeline/stages.js';
import {
  allows,
  buildFunctionsAlone,
  buildStack,
  BUCKET_ARN,
  flattenValue,
  functionRoleId,
  logicalId,
  objectArn,
  roleStatements,
  type Statement,
} from './support.js';

const { stack, template } = buildStack();
const resources = template.toJSON().Resources as Record<string, unknown>;

/** The lake root of the default stack. */
const ROOT = 'lake/';

function functionId(key: StageKey): string {
  return logicalId(template, 'AWS::Lambda::Function', `${STAGE_LIST.find((s) => s.key === key)?.state}Function`);
}
const roles = Object.fromEntries(STAGE_LIST.map((spec) => [spec.key, roleStatements(template, functionRoleId(template, functionId(spec.key)))])) as Record<
  StageKey,
  Statement[]
>;

const RUN = '20250302T013000000Z-0a1b2c3d';
const DAY = 'lake/rentals/year=2025/month=03/day=01';
/** A key of every kind the lake holds, and keys just outside it. */
const KEYS = {
  staged: `lake/_staging/${RUN}/rentals.arrows`,
  stagedDataFile: `lake/_staging/${RUN}/rentals/year=2025/month=03/day=01/part-${RUN}-00000.parquet`,
  stagedSnapshot: `lake/_staging/${RUN}/users/data.parquet`,
  lock: 'lake/_locks/rentals/year=2025/month=03/day=01.json',
  dataFile: `${DAY}/part-${RUN}-00000.parquet`,
  rangeDataFile: `${DAY}/part-${RUN}-h06-00000.parquet`,
  notParquetInPartition: `${DAY}/_manifest.json`,
  manifest: 'lake/_manifests/rentals/year=2025/month=03/day=01.json',
  manifestLookalike: 'lake/_manifests/rentals/year=2025/month=03/day=01.json.parquet',
  snapshotManifest: 'lake/_manifests/users.json',
  icebergRentalsMetadata: 'lake/_iceberg/rentals/metadata/v7.metadata.json',
  icebergRentalsManifest: 'lake/_iceberg/rentals/metadata/m-2025-03-123-0a1b2c3d.avro',
  icebergUsersMetadata: 'lake/_iceberg/users/metadata/v2.metadata.json',
  icebergOutsideMetadata: 'lake/_iceberg/rentals/data/part-x.parquet',
  quarantine: `lake/_quarantine/rentals/year=2025/month=03/day=01/${RUN}.jsonl`,
  report: `lake/_reports/rentals/year=2025/month=03/day=01/${RUN}.json`,
  users: 'lake/users/data.parquet',
  bikes: 'lake/bikes/data.parquet',
  lakeRootFile: 'lake/README.txt',
  outsideLake: 'other-team/rentals/year=2025/month=03/day=01/part-x.parquet',
  stagingOutsideLake: `_staging/${RUN}/rentals.arrows`,
} as const;
type Key = keyof typeof KEYS;

/**
 * The object actions each access kind of the registry grants (`LakeAccess` documents them). Typed
 * by `LakeAccess`: a new kind of access fails the type check here until its actions are named.
 */
const ACTIONS_OF: { readonly [K in Exclude<keyof LakeAccess, 'list'>]-?: readonly string[] } = {
  read: ['s3:GetObject'],
  write: ['s3:PutObject', 's3:AbortMultipartUpload'],
  delete: ['s3:DeleteObject'],
};
const OBJECT_ACTIONS = [...new Set(Object.values(ACTIONS_OF).flat())];

const globMatches = (pattern: string, value: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(value);

/** What the registry entry of `key` grants: `action` on the lake object `path`. */
function registryGrants(key: StageKey, action: string, path: string): boolean {
  const access: LakeAccess = STAGE_LIST.find((s) => s.key === key)?.access ?? {};
  return (Object.keys(ACTIONS_OF) as (keyof typeof ACTIONS_OF)[]).some(
    (kind) => ACTIONS_OF[kind].includes(action) && (access[kind] ?? []).some((pattern) => globMatches(`${ROOT}${pattern}`, path)),
  );
}

/**
 * What the registry entry of `key` lets it list: ListBucket with the prefix `prefix`, under its
 * `list` patterns and, so that the store can tell a missing key from a refused read (S3 answers
 * 403 for a missing key to a role it does not let list the bucket), its `read` ones.
 */
function registryLists(key: StageKey, prefix: string): boolean {
  const access: LakeAccess = STAGE_LIST.find((s) => s.key === key)?.access ?? {};
  return [...(access.list ?? []), ...(access.read ?? [])].some((pattern) => globMatches(`${ROOT}${pattern}`, prefix));
}

const can = (key: StageKey, action: string, path: string) => allows(roles[key], resources, action, objectArn(path));
const canList = (key: StageKey, prefix: string) => allows(roles[key], resources, 's3:ListBucket', BUCKET_ARN, { 's3:prefix': prefix });

describe('lake objects: each function can do exactly what its registry entry grants', () => {
  for (const spec of STAGE_LIST) {
    for (const action of OBJECT_ACTIONS) {
      for (const key of Object.keys(KEYS) as Key[]) {
        const expected = registryGrants(spec.key, action, KEYS[key]);
        it(`${spec.name} ${expected ? 'can' : 'cannot'} ${action} ${key}`, () => {
          expect(can(spec.key, action, KEYS[key])).toBe(expected);
        });
      }
    }
  }
});

describe('listing: limited to the prefixes of the registry entry', () => {
  for (const spec of STAGE_LIST) {
    it(`${spec.name} can list, with the key as the prefix, every key it can read, and no other key`, () => {
      for (const key of Object.keys(KEYS) as Key[]) {
        const reads = can(spec.key, 's3:GetObject', KEYS[key]);
        if (reads) expect(canList(spec.key, KEYS[key]), key).toBe(true);
        else expect(canList(spec.key, KEYS[key]), key).toBe(registryLists(spec.key, KEYS[key]));
      }
    });
  }

  const PREFIXES = [
    '',
    'lake/',
    'lake/rentals/',
    `${DAY}/`,
    'lake/_manifests/rentals/',
    'lake/_locks/rentals/',
    `lake/_staging/${RUN}/`,
    'lake/_staging/',
    'lake/_quarantine/rentals/year=2025/month=03/day=01/',
    'lake/_reports/',
    'lake/_iceberg/rentals/metadata/',
    'lake/_iceberg/',
    'lake/users/',
    'other-team/',
  ];
  for (const spec of STAGE_LIST) {
    for (const prefix of PREFIXES) {
      const expected = registryLists(spec.key, prefix);
      it(`${spec.name} ${expected ? 'can' : 'cannot'} list '${prefix}'`, () => {
        expect(canList(spec.key, prefix)).toBe(expected);
      });
    }
    // A GET carries no s3:prefix: S3 finds no ListBucket for it and answers a missing key with 403 (see `grantLakeAccess`).
    it(`${spec.name} cannot list the bucket without a prefix, nor list object versions`, () => {
      expect(allows(roles[spec.key], resources, 's3:ListBucket', BUCKET_ARN)).toBe(false);
      expect(allows(roles[spec.key], resources, 's3:ListBucketVersions', BUCKET_ARN, { 's3:prefix': 'lake/' })).toBe(false);
    });
  }
});

describe('what a stage must do, and must never do, in principle', () => {
  it('a stage that does not need the lake has no S3 access at all', () => {
    // Prepare: every stage of the registry needs the lake, so release-day's entry is built twice, without and with it.
    const statementsOf = (lake: boolean) => {
      const { stack: scope, template: built } = buildFunctionsAlone([{ ...STAGES.releaseDay, key: 'releaseDay', needs: { database: false, lake } }]);
      const fn = scope.node.findChild(STAGES.releaseDay.state) as EtlFunction;
      const id = scope.resolve(scope.getLogicalId(fn.role.node.defaultChild as CfnRole)) as string;
      return { statements: roleStatements(built, id), resources: built.toJSON().Resources as Record<string, unknown> };
    };

    // Act
    const without = statementsOf(false);
    const withLake = statementsOf(true);

    // Assess
    const anyAccess = ({ statements, resources }: ReturnType<typeof statementsOf>) =>
      (Object.keys(KEYS) as Key[]).some((key) => OBJECT_ACTIONS.some((action) => allows(statements, resources, action, objectArn(KEYS[key])))) ||
      allows(statements, resources, 's3:ListBucket', BUCKET_ARN, { 's3:prefix': 'lake/' });
    expect(anyAccess(without)).toBe(false);
    expect(anyAccess(withLake)).toBe(true);
  });

  it('extract only stages: it never writes or deletes published data, manifests or reports', () => {
    for (const key of ['dataFile', 'rangeDataFile', 'manifest', 'snapshotManifest', 'users', 'bikes', 'report'] as const) {
      expect(can('extract', 's3:PutObject', KEYS[key]), key).toBe(false);
      expect(can('extract', 's3:DeleteObject', KEYS[key]), key).toBe(false);
    }
  });

  it('multipart uploads can be aborted exactly where objects can be written', () => {
    for (const spec of STAGE_LIST) {
      for (const key of Object.keys(KEYS) as Key[]) {
        expect(can(spec.key, 's3:AbortMultipartUpload', KEYS[key]), `${spec.name} ${key}`).toBe(can(spec.key, 's3:PutObject', KEYS[key]));
      }
    }
  });
});

describe('Glue: the stages that commit an Iceberg table move its Glue table, and nothing else of Glue', () => {
  const GLUE = 'arn:aws:glue:us-east-1:123456789012';
  const DATABASE = 'test_stack';
  const tableArn = (database: string, table: string) => `${GLUE}:table/${database}/${table}`;
  /** The committing stages, as the registry says them: each Iceberg table has one at least. */
  const committers = STAGE_LIST.filter((spec) => icebergTablesOf(spec).length > 0);

  it('the stages whose access writes Iceberg metadata commit: plan-day, validate, release-day rentals; snapshot users and bikes', () => {
    expect(Object.fromEntries(committers.map((spec) => [spec.key, icebergTablesOf(spec)]))).toEqual({
      snapshot: ['users', 'bikes'],
      planDay: ['rentals'],
      validate: ['rentals'],
      releaseDay: ['rentals'],
    });
  });

  for (const spec of STAGE_LIST) {
    const tables = icebergTablesOf(spec);
    it(`${spec.name} can get and update exactly the Glue tables of ${tables.length ? tables.join(', ') : 'no Iceberg table'}`, () => {
      for (const table of Object.keys(ICEBERG_TABLES)) {
        const arn = tableArn(DATABASE, glueIcebergTableName(table));
        for (const action of ['glue:GetTable', 'glue:UpdateTable']) {
          expect(allows(roles[spec.key], resources, action, arn), `${action} ${table}`).toBe(tables.includes(table));
        }
      }
      // Glue checks the catalog and the database too.
      for (const target of [`${GLUE}:catalog`, `${GLUE}:database/${DATABASE}`]) {
        expect(allows(roles[spec.key], resources, 'glue:UpdateTable', target), target).toBe(tables.length > 0);
      }
    });

    it(`${spec.name} cannot touch the Hive tables, another database, or change what Glue holds otherwise`, () => {
      const targets = [
        ...Object.keys(ICEBERG_TABLES).map((table) => tableArn(DATABASE, table)),
        tableArn('other_db', glueIcebergTableName('rentals')),
        `${GLUE}:database/other_db`,
        tableArn(DATABASE, '*'),
      ];
      for (const target of targets) expect(allows(roles[spec.key], resources, 'glue:UpdateTable', target), target).toBe(false);
      const everyTable = [...targets, ...Object.keys(ICEBERG_TABLES).map((table) => tableArn(DATABASE, glueIcebergTableName(table)))];
      for (const action of [
        'glue:DeleteTable',
        'glue:CreateTable',
        'glue:UpdateDatabase',
        'glue:DeleteDatabase',
        'glue:BatchDeleteTable',
        'glue:DeleteTableVersion',
      ]) {
        for (const target of [...everyTable, `${GLUE}:catalog`, `${GLUE}:database/${DATABASE}`]) {
          expect(allows(roles[spec.key], resources, action, target), `${action} ${target}`).toBe(false);
        }
      }
    });
  }

  it('the committing functions are told the database (GLUE_DATABASE); the others are not', () => {
    for (const spec of STAGE_LIST) {
      const fn = resources[functionId(spec.key)] as { Properties: { Environment: { Variables: Record<string, unknown> } } };
      expect(fn.Properties.Environment.Variables.GLUE_DATABASE, spec.name).toBe(committers.includes(spec) ? DATABASE : undefined);
    }
  });
});

// --- What no function may do, whatever its registry entry --------------------------------------

const STATE_MACHINE_NAME = stack.pipelineName;
const ACCOUNT = 'arn:aws:%s:us-east-1:123456789012';
const arn = (service: string, rest: string) => `${ACCOUNT.replace('%s', service)}:${rest}`;
const functionArns = STAGE_LIST.map((spec) => `arn:test:${functionId(spec.key)}.Arn`);
const roleArns = Object.entries(resources)
  .filter(([, r]) => (r as { Type: string }).Type === 'AWS::IAM::Role')
  .map(([id]) => `arn:test:${id}.Arn`);
const stateMachineArns = [
  flattenValue(stack.resolve(stack.stateMachine.stateMachineArn), resources),
  arn('states', `stateMachine:${STATE_MACHINE_NAME}`),
  arn('states', 'stateMachine:other'),
];

/** Requests no function of the pipeline may make, each with the resources it is tried on. */
const FORBIDDEN: readonly (readonly [string, readonly string[]])[] = [
  // The bucket's own settings: who may read it, how long data lives, versioning, encryption.
  ...[
    's3:PutBucketPolicy',
    's3:DeleteBucketPolicy',
    's3:PutLifecycleConfiguration',
    's3:PutBucketVersioning',
    's3:PutEncryptionConfiguration',
    's3:PutBucketPublicAccessBlock',
    's3:PutBucketAcl',
    's3:PutBucketOwnershipControls',
    's3:PutBucketLogging',
    's3:PutBucketNotification',
    's3:PutReplicationConfiguration',
    's3:DeleteBucket',
  ].map((action) => [action, [BUCKET_ARN, 'arn:aws:s3:::other-bucket']] as const),
  // Object versions and object settings: a versioned bucket's undo history stays out of reach.
  ...[
    's3:DeleteObjectVersion',
    's3:GetObjectVersion',
    's3:PutObjectAcl',
    's3:PutObjectVersionAcl',
    's3:PutObjectRetention',
    's3:PutObjectLegalHold',
    's3:BypassGovernanceRetention',
    's3:RestoreObject',
  ].map((action) => [action, Object.values(KEYS).map(objectArn)] as const),
  // Any object outside the lake prefix, and any other bucket.
  ...['s3:GetObject', 's3:PutObject', 's3:DeleteObject'].map(
    (action) => [action, [objectArn(KEYS.outsideLake), objectArn(KEYS.stagingOutsideLake), 'arn:aws:s3:::other-bucket/lake/rentals/x.parquet']] as const,
  ),
  // Identity: no role passed, created or changed, none assumed.
  ...['iam:PassRole', 'iam:CreateRole', 'iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:UpdateAssumeRolePolicy', 'sts:AssumeRole'].map(
    (action) => [action, [...roleArns, 'arn:aws:iam::123456789012:role/Admin']] as const,
  ),
  // Functions: none changed, none invoked (the state machine chains them).
  ...['lambda:UpdateFunctionCode', 'lambda:UpdateFunctionConfiguration', 'lambda:AddPermission', 'lambda:InvokeFunction', 'lambda:CreateFunction'].map(
    (action) => [action, [...functionArns, arn('lambda', 'function:other')]] as const,
  ),
  // Executions: none started, stopped or redriven; another state machine's never described.
  ...['states:StartExecution', 'states:StartSyncExecution', 'states:UpdateStateMachine', 'states:DeleteStateMachine'].map(
    (action) => [action, stateMachineArns] as const,
  ),
  ...['states:StopExecution', 'states:RedriveExecution'].map((action) => [action, [arn('states', `execution:${STATE_MACHINE_NAME}:run-1`)]] as const),
  ['states:DescribeExecution', [arn('states', 'execution:other:run-1'), arn('states', `execution:${STATE_MACHINE_NAME}-other:run-1`)]],
  // Other secrets and keys.
  ['secretsmanager:GetSecretValue', [arn('secretsmanager', 'secret:other-AbCdEf')]],
  ['secretsmanager:PutSecretValue', [flattenValue(stack.resolve(stack.databaseSecret.secretArn), resources), arn('secretsmanager', 'secret:other-AbCdEf')]],
  ['kms:Decrypt', [arn('kms', 'key/1234abcd-12ab-34cd-56ef-1234567890ab')]],
];

describe('what no function may do', () => {
  for (const spec of STAGE_LIST) {
    for (const [action, targets] of FORBIDDEN) {
      it(`${spec.name} cannot ${action}`, () => {
        for (const target of targets) expect(allows(roles[spec.key], resources, action, target), target).toBe(false);
      });
    }
  }

  it('no Allow statement of any role uses NotAction or NotResource, nor grants s3:* or *', () => {
    for (const [id, resource] of Object.entries(resources) as [string, { Type: string }][]) {
      if (resource.Type !== 'AWS::IAM::Role') continue;
      for (const statement of roleStatements(template, id).filter((s) => s.Effect === 'Allow')) {
        expect(statement.NotAction, id).toBeUndefined();
        expect(statement.NotResource, id).toBeUndefined();
        const actions = ([] as string[]).concat(statement.Action ?? []);
        expect(
          actions.filter((a) => a === '*' || a.toLowerCase() === 's3:*'),
          id,
        ).toEqual([]);
        if (actions.some((a) => a.toLowerCase().startsWith('s3:'))) {
          const arns = ([] as unknown[]).concat(statement.Resource).map((r) => flattenValue(r, resources));
          expect(
            arns.filter((a) => a === '*' || a === 'arn:aws:s3:::*'),
            id,
          ).toEqual([]);
        }
      }
    }
  });
});

describe('database secret', () => {
  const secretArn = flattenValue(stack.resolve(stack.databaseSecret.secretArn), resources);
  const databaseStages = STAGE_LIST.filter((s) => s.needs.database);

  it('only the functions of the stages that need the database can read it', () => {
    // Arrange
    const readers = Object.entries(resources)
      .filter(([, r]) => (r as { Type: string }).Type === 'AWS::IAM::Role')
      .filter(([id]) => allows(roleStatements(template, id), resources, 'secretsmanager:GetSecretValue', secretArn))
      .map(([id]) => id);
    // Assess
    expect(readers.sort()).toEqual(databaseStages.map((spec) => functionRoleId(template, functionId(spec.key))).sort());
  });

  it('those functions get the secret ARN, and no function gets credentials in its environment', () => {
    for (const spec of STAGE_LIST) {
      const fn = resources[functionId(spec.key)] as { Properties: { Environment: { Variables: Record<string, unknown> } } };
      const names = Object.keys(fn.Properties.Environment.Variables);
      expect(
        names.filter((n) => /PASSWORD|DATABASE_URL/.test(n)),
        spec.name,
      ).toEqual([]);
      expect(names.includes('DATABASE_SECRET_ARN'), spec.name).toBe(spec.needs.database);
    }
  });
});

describe('orchestration roles', () => {
  const stateMachineId = logicalId(template, 'AWS::StepFunctions::StateMachine', 'Pipeline');
  const stateMachineRole = (resources[stateMachineId] as { Properties: { RoleArn: { 'Fn::GetAtt': [string, string] } } }).Properties.RoleArn['Fn::GetAtt'][0];

  it('the state machine can invoke the functions of the stages and touch no data', () => {
    const statements = roleStatements(template, stateMachineRole);
    for (const fn of functionArns) expect(allows(statements, resources, 'lambda:InvokeFunction', fn), fn).toBe(true);
    expect(allows(statements, resources, 'lambda:InvokeFunction', arn('lambda', 'function:other'))).toBe(false);
    expect(allows(statements, resources, 's3:GetObject', objectArn(KEYS.dataFile))).toBe(false);
    expect(allows(statements, resources, 'iam:PassRole', 'arn:aws:iam::123456789012:role/Admin')).toBe(false);
  });

  it('the schedule can only start executions of this state machine and report undelivered ones to its dead-letter queue', () => {
    const schedule = Object.values(template.findResources('AWS::Scheduler::Schedule'))[0] as {
      Properties: { Target: { RoleArn: { 'Fn::GetAtt': [string, string] }; DeadLetterConfig: { Arn: { 'Fn::GetAtt': [string, string] } } } };
    };
    const statements = roleStatements(template, schedule.Properties.Target.RoleArn['Fn::GetAtt'][0]);
    const deadLetters = `arn:test:${schedule.Properties.Target.DeadLetterConfig.Arn['Fn::GetAtt'][0]}.Arn`;
    expect(statements.flatMap((s) => ([] as string[]).concat(s.Action ?? [])).sort()).toEqual(['sqs:SendMessage', 'states:StartExecution']);
    expect(allows(statements, resources, 'states:StartExecution', stateMachineArns[0])).toBe(true);
    expect(allows(statements, resources, 'states:StartExecution', arn('states', 'stateMachine:other'))).toBe(false);
    expect(allows(statements, resources, 'sqs:SendMessage', deadLetters)).toBe(true);
    expect(allows(statements, resources, 'sqs:SendMessage', arn('sqs', 'other-queue'))).toBe(false);
  });
});
