/** A two-column table (an int8 key and a nullable text) for tests of the COPY reader and decoder. */
import type { SourceTable } from '../../src/core/tables.js';

export const NUMBERS: SourceTable = {
  name: 'numbers',
  key: 'n',
  columns: [
    { name: 'n', kind: 'int64', nullable: false, description: '' },
    { name: 'label', kind: 'text', nullable: true, description: '' },
  ],
} as unknown as SourceTable;
