/**
 * Avro object container files (the format of Iceberg's manifests and manifest lists), written and
 * read whole in memory with avsc's types. The schema goes into the header exactly as given, so
 * the attributes Iceberg needs (`field-id`, `element-id`) survive: avsc would drop them if it
 * wrote the header from its parsed type. One block, no compression: the files are small.
 */
import { randomBytes } from 'node:crypto';
import avro from 'avsc';

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]); // "Obj" 1

const HEADER = avro.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
  ],
});

const LONG = avro.Type.forSchema('long');

/** An Avro container file of `records` written with `schema` (a JSON schema), `metadata` in its header. */
export function writeAvroContainer(schema: object, records: readonly object[], metadata: Record<string, string>): Buffer {
  const type = avro.Type.forSchema(schema as avro.Schema);
  const sync = randomBytes(16);
  const meta: Record<string, Buffer> = { 'avro.schema': Buffer.from(JSON.stringify(schema)), 'avro.codec': Buffer.from('null') };
  for (const [key, value] of Object.entries(metadata)) meta[key] = Buffer.from(value);
  const parts = [HEADER.toBuffer({ magic: MAGIC, meta, sync })];
  if (records.length > 0) {
    const body = Buffer.concat(records.map((record) => type.toBuffer(record)));
    parts.push(LONG.toBuffer(records.length), LONG.toBuffer(body.length), body, sync);
  }
  return Buffer.concat(parts);
}

/** The records and header metadata of an Avro container file written with codec `null`. */
export function readAvroContainer<T>(bytes: Uint8Array): { records: T[]; metadata: Record<string, string> } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = HEADER.decode(buffer, 0) as { value: { magic: Buffer; meta: Record<string, Buffer>; sync: Buffer }; offset: number };
  if (!header.value.magic.equals(MAGIC)) throw new Error('not an Avro container file');
  const metadata = Object.fromEntries(Object.entries(header.value.meta).map(([k, v]) => [k, v.toString('utf8')]));
  if ((metadata['avro.codec'] ?? 'null') !== 'null') throw new Error(`unsupported Avro codec ${metadata['avro.codec']}`);
  const type = avro.Type.forSchema(JSON.parse(metadata['avro.schema']) as avro.Schema);
  const records: T[] = [];
  let offset = header.offset;
  while (offset < buffer.length) {
    const count = LONG.decode(buffer, offset) as { value: number; offset: number };
    const size = LONG.decode(buffer, count.offset) as { value: number; offset: number };
    let at = size.offset;
    for (let i = 0; i < count.value; i++) {
      const decoded = type.decode(buffer, at) as { value: T; offset: number };
      records.push(decoded.value);
      at = decoded.offset;
    }
    offset = size.offset + size.value + 16;
  }
  return { records, metadata };
}
