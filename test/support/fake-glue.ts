/**
 * A Glue Data Catalog for the tests, holding tables in memory with Glue's optimistic concurrency:
 * every `UpdateTable` must carry the `VersionId` of the table as it is now, else it fails with
 * `ConcurrentModificationException`, and a successful one makes a new version. moto's Glue
 * ignores `VersionId` (an update with a stale or made-up one is accepted), so it cannot test a
 * writer that loses that race. `beforeUpdate` lets a test slip another writer in between a
 * follower's `GetTable` and its `UpdateTable`.
 */
import {
  ConcurrentModificationException,
  EntityNotFoundException,
  GetTableCommand,
  type GetTableCommandOutput,
  type Table,
  UpdateTableCommand,
  type UpdateTableCommandInput,
} from '@aws-sdk/client-glue';
import type { GlueTables } from '../../src/lake/iceberg/glue-catalog.js';

export class FakeGlue implements GlueTables {
  readonly #tables = new Map<string, Table>();
  /** Every UpdateTable received (accepted or not), in order. */
  readonly updates: UpdateTableCommandInput[] = [];
  /** Awaited before each UpdateTable is applied (`n`: its number, from 1). */
  beforeUpdate: (n: number) => Promise<void> = async () => undefined;
  /** Thrown by the Nth UpdateTable instead of applying it, once. */
  failUpdate: { n: number; error: Error } | undefined;

  createTable(database: string, table: Omit<Table, 'DatabaseName' | 'VersionId'>): void {
    this.#tables.set(`${database}.${table.Name}`, { ...table, DatabaseName: database, VersionId: '1' });
  }

  table(database: string, name: string): Table | undefined {
    return this.#tables.get(`${database}.${name}`);
  }

  // biome-ignore lint/suspicious/noExplicitAny: the SDK's `send` is overloaded per command; this fake answers two.
  send = (async (command: any): Promise<unknown> => {
    if (command instanceof GetTableCommand) {
      const table = this.table(command.input.DatabaseName ?? '', command.input.Name ?? '');
      if (!table) throw new EntityNotFoundException({ message: `Table ${command.input.Name} not found.`, $metadata: {} });
      return { Table: structuredClone(table), $metadata: {} } satisfies GetTableCommandOutput;
    }
    if (command instanceof UpdateTableCommand) {
      const input = command.input;
      this.updates.push(input);
      const n = this.updates.length;
      await this.beforeUpdate(n);
      if (this.failUpdate?.n === n) throw this.failUpdate.error;
      const key = `${input.DatabaseName}.${input.TableInput?.Name}`;
      const current = this.#tables.get(key);
      if (!current) throw new EntityNotFoundException({ message: `Table ${input.TableInput?.Name} not found.`, $metadata: {} });
      if (input.VersionId !== undefined && input.VersionId !== current.VersionId) {
        throw new ConcurrentModificationException({ message: 'Update table failed due to concurrent modifications.', $metadata: {} });
      }
      this.#tables.set(key, { ...input.TableInput, Name: current.Name, DatabaseName: current.DatabaseName, VersionId: String(Number(current.VersionId) + 1) });
      return { $metadata: {} };
    }
    throw new Error(`FakeGlue does not answer ${command?.constructor?.name}`);
  }) as GlueTables['send'];
}
