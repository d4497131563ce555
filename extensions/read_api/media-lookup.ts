/**
 * Finds the stored attachment a media key names: the log's `tracehouse.attachments` record at the
 * key's index, when it is an upload (stored under attachments_dir by its SHA-256) and its name
 * gives the key's file name. Anything else (another workspace, unknown log, a URL attachment, a
 * name that does not match) is not found.
 */
import type { TraceStore } from '../../core/component';
import type { MediaKey } from './media-key';
import { safeFileName } from './media-key';
import { LOG_IDS_TABLE, LogIndex } from './log-index';
import { SPANS_TABLE, sqlString, tableOf } from './projects-sql';

export interface StoredAttachment {
  /** 64 lowercase hex digits: the file's name under attachments_dir. */
  sha256: string;
  contentType: string;
  /** The name the uploader gave (unsanitized; for Content-Disposition only). */
  name: string | undefined;
  sizeBytes: number;
}

const SHA256_REF = /^sha256:([0-9a-f]{64})$/;
// type/subtype with optional parameters, as RFC 9110 tokens; anything else is served as bytes.
const MEDIA_TYPE = /^[A-Za-z0-9!#$&^_.+-]{1,64}\/[A-Za-z0-9!#$&^_.+-]{1,64}(?:\s*;\s*[A-Za-z0-9!#$&^_.+-]{1,64}=(?:[A-Za-z0-9!#$&^_.+-]{1,64}|"[^"\\\r\n]{0,64}"))*$/;

interface SpanKey {
  service_name: string;
  span_name: string;
  ts_ns: string;
  trace_id: string;
  span_id: string;
}

export async function findAttachment(store: TraceStore, key: MediaKey): Promise<StoredAttachment | undefined> {
  // The log by id in the ids table, then its span by the spans table's full sorting key (the time
  // as text: nanoseconds lose precision as a JSON number).
  await LogIndex.forStore(store).ensure();
  const [log] = await store.selectRows<SpanKey>(
    `SELECT service_name, span_name, toString(toUnixTimestamp64Nano(timestamp)) AS ts_ns, trace_id, span_id FROM ${tableOf(store, LOG_IDS_TABLE)}
WHERE workspace = ${sqlString(key.workspace)} AND log_id = ${sqlString(key.logId)} LIMIT 1`,
  );
  if (!log) return undefined;
  const rows = await store.selectRows<{ attachments: string }>(
    `SELECT SpanAttributes['tracehouse.attachments'] AS attachments FROM ${tableOf(store, SPANS_TABLE)}
WHERE ServiceName = ${sqlString(log.service_name)} AND SpanName = ${sqlString(log.span_name)} AND Timestamp = fromUnixTimestamp64Nano(toInt64(${sqlString(log.ts_ns)}))
  AND TraceId = ${sqlString(log.trace_id)} AND SpanId = ${sqlString(log.span_id)} AND Workspace = ${sqlString(key.workspace)}
LIMIT 1`,
  );
  if (rows.length === 0 || rows[0].attachments === '') return undefined;
  let records: unknown;
  try {
    records = JSON.parse(rows[0].attachments);
  } catch {
    return undefined;
  }
  if (!Array.isArray(records)) return undefined;
  const record = records[key.index] as Record<string, unknown> | undefined;
  if (!record || record.source !== 'upload' || typeof record.ref !== 'string') return undefined;
  const sha = SHA256_REF.exec(record.ref);
  const name = typeof record.name === 'string' ? record.name : undefined;
  if (!sha || safeFileName(name) !== key.fileName) return undefined;
  const type = typeof record.content_type === 'string' && MEDIA_TYPE.test(record.content_type) ? record.content_type : 'application/octet-stream';
  return { sha256: sha[1], contentType: type, name, sizeBytes: Number(record.size_bytes ?? 0) };
}
