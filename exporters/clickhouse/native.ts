/**
 * Spans -> one block of ClickHouse's Native format (the engine's own columnar wire form), built
 * straight from the span model: the engine reads it with no text parsing, about half the cost per
 * row of JSONEachRow.
 *
 * A block is: column count, row count, then per column its name, its type and its values, all
 * rows of one column together. Map(K, V) is Array(Tuple(K, V)): cumulative entry counts per row,
 * then every key, then every value; Array(T) is cumulative lengths, then the elements. The
 * LowCardinality columns of the table are sent as plain String (the engine converts on insert),
 * and values come from span-columns.ts, as in the JSONEachRow form (rows.ts).
 *
 * The exporter encodes each call's spans as soon as they arrive (encodeNativeColumns) and joins the
 * calls of one insert into one block when it writes (nativeBlock): the span objects are
 * garbage once their call is encoded, instead of living in the queue until the insert ends, which
 * made the young generation's collector copy most of them twice.
 */
import type { Attributes, Span, SpanEvent, SpanLink } from '../../core/span';
import type { ByteSlabs } from './byte-slabs';
import { NativeWriter } from './native-writer';
import {
  clampNanos,
  clampUint32,
  clampUint64,
  CONTEXT_COLUMNS,
  costUsd,
  inputTokens,
  outputTokens,
  RESULT_COLUMNS,
  spanKindName,
  statusCodeName,
  textOf,
} from './span-columns';

type ColumnWriter = (w: NativeWriter, spans: readonly Span[]) => void;

function strings(get: (span: Span) => string): ColumnWriter {
  return (w, spans) => {
    for (let i = 0; i < spans.length; i++) w.string(get(spans[i]));
  };
}

function uint32s(get: (span: Span) => number): ColumnWriter {
  return (w, spans) => {
    for (let i = 0; i < spans.length; i++) w.uint32(clampUint32(get(spans[i])));
  };
}

function uint64s(get: (span: Span) => bigint): ColumnWriter {
  return (w, spans) => {
    for (let i = 0; i < spans.length; i++) w.uint64(get(spans[i]));
  };
}

/** The keys and values of one map, already in Native form, for maps shared by many spans. */
interface EncodedMap {
  entries: number;
  keys: Buffer;
  values: Buffer;
}

const sharedMaps = new WeakMap<Attributes, EncodedMap>();

function encodedMap(attributes: Attributes): EncodedMap {
  let encoded = sharedMaps.get(attributes);
  if (!encoded) {
    const keys = Object.keys(attributes);
    const keyWriter = new NativeWriter(keys.length * 32);
    const valueWriter = new NativeWriter(keys.length * 64);
    for (const key of keys) {
      keyWriter.string(key);
      valueWriter.string(textOf(attributes[key]));
    }
    encoded = { entries: keys.length, keys: Buffer.from(keyWriter.bytes()), values: Buffer.from(valueWriter.bytes()) };
    sharedMaps.set(attributes, encoded);
  }
  return encoded;
}

/** A Map column whose maps are shared objects (resource and scope attributes): encoded once each. */
function sharedMapColumn(get: (span: Span) => Attributes): ColumnWriter {
  return (w, spans) => {
    const maps = spans.map((span) => encodedMap(get(span)));
    let total = 0;
    for (const map of maps) w.uint64Number((total += map.entries));
    w.mark();
    for (const map of maps) w.raw(map.keys);
    w.mark();
    for (const map of maps) w.raw(map.values);
  };
}

/** Map values of a list of attribute maps: offsets, keys, values (also the inside of Array(Map)). */
function writeMaps(w: NativeWriter, maps: readonly Attributes[]): void {
  const keysOf: string[][] = new Array(maps.length);
  let total = 0;
  for (let i = 0; i < maps.length; i++) {
    keysOf[i] = Object.keys(maps[i]);
    w.uint64Number((total += keysOf[i].length));
  }
  w.mark();
  for (let i = 0; i < maps.length; i++) for (const key of keysOf[i]) w.string(key);
  w.mark();
  for (let i = 0; i < maps.length; i++) {
    const map = maps[i];
    for (const key of keysOf[i]) w.string(textOf(map[key]));
  }
}

/** Array offsets: the cumulative length of each span's list. */
function arrayOffsets<T>(w: NativeWriter, spans: readonly Span[], list: (span: Span) => readonly T[]): void {
  let total = 0;
  for (let i = 0; i < spans.length; i++) w.uint64Number((total += list(spans[i]).length));
}

/** An Array(T) column of a per-span list (events, links), its elements written by `element`. */
function arrays<T>(list: (span: Span) => readonly T[], element: (w: NativeWriter, item: T) => void): ColumnWriter {
  return (w, spans) => {
    arrayOffsets(w, spans, list);
    w.mark();
    for (let i = 0; i < spans.length; i++) for (const item of list(spans[i])) element(w, item);
  };
}

/** An Array(Map(String, String)) column of the attributes of a per-span list. */
function arrayOfMaps<T extends { attributes: Attributes }>(list: (span: Span) => readonly T[]): ColumnWriter {
  return (w, spans) => {
    arrayOffsets(w, spans, list);
    w.mark();
    const maps: Attributes[] = [];
    for (let i = 0; i < spans.length; i++) for (const item of list(spans[i])) maps.push(item.attributes);
    writeMaps(w, maps);
  };
}

const events = (span: Span): readonly SpanEvent[] => span.events;
const links = (span: Span): readonly SpanLink[] => span.links;

/**
 * The streams of a column of this type, in Native order: Array(T) is its offsets, then T's
 * streams; Map(K, V) of plain K and V is its offsets, then every key, then every value.
 */
type Stream = 'offsets' | 'data';
function streamsOf(type: string): Stream[] {
  if (type.startsWith('Array(')) return ['offsets', ...streamsOf(type.slice('Array('.length, -1))];
  if (type.startsWith('Map(')) return ['offsets', 'data', 'data'];
  return ['data'];
}

/** The spans table's columns in table order, with the type each is sent as. */
const COLUMNS: ReadonlyArray<readonly [name: string, type: string, write: ColumnWriter]> = [
  ['Timestamp', 'DateTime64(9)', (w, spans) => {
    for (let i = 0; i < spans.length; i++) w.int64(clampNanos(spans[i].startTimeUnixNano));
  }],
  ['TraceId', 'String', strings((s) => s.traceId)],
  ['SpanId', 'String', strings((s) => s.spanId)],
  ['ParentSpanId', 'String', strings((s) => s.parentSpanId)],
  ['TraceState', 'String', strings((s) => s.traceState)],
  ['SpanName', 'String', strings((s) => s.name)],
  ['SpanKind', 'String', strings(spanKindName)],
  ['ServiceName', 'String', strings((s) => textOf(s.resource.attributes['service.name']))],
  ['ResourceAttributes', 'Map(String, String)', sharedMapColumn((s) => s.resource.attributes)],
  ['ScopeName', 'String', strings((s) => s.scope.name)],
  ['ScopeVersion', 'String', strings((s) => s.scope.version)],
  ['SpanAttributes', 'Map(String, String)', (w, spans) => writeMaps(w, spans.map((s) => s.attributes))],
  ['Duration', 'UInt64', uint64s((s) => clampUint64(s.endTimeUnixNano - s.startTimeUnixNano))],
  ['StatusCode', 'String', strings(statusCodeName)],
  ['StatusMessage', 'String', strings((s) => s.status.message)],
  ['Events.Timestamp', 'Array(DateTime64(9))', arrays(events, (w, e) => w.int64(clampNanos(e.timeUnixNano)))],
  ['Events.Name', 'Array(String)', arrays(events, (w, e) => w.string(e.name))],
  ['Events.Attributes', 'Array(Map(String, String))', arrayOfMaps(events)],
  ['Links.TraceId', 'Array(String)', arrays(links, (w, l) => w.string(l.traceId))],
  ['Links.SpanId', 'Array(String)', arrays(links, (w, l) => w.string(l.spanId))],
  ['Links.TraceState', 'Array(String)', arrays(links, (w, l) => w.string(l.traceState))],
  ['Links.Attributes', 'Array(Map(String, String))', arrayOfMaps(links)],
  ['ScopeAttributes', 'Map(String, String)', sharedMapColumn((s) => s.scope.attributes)],
  ['ResourceSchemaUrl', 'String', strings((s) => s.resource.schemaUrl)],
  ['ScopeSchemaUrl', 'String', strings((s) => s.scopeSchemaUrl)],
  ['TraceFlags', 'UInt32', uint32s((s) => s.flags)],
  ['DroppedAttributesCount', 'UInt32', uint32s((s) => s.droppedAttributesCount)],
  ['DroppedEventsCount', 'UInt32', uint32s((s) => s.droppedEventsCount)],
  ['DroppedLinksCount', 'UInt32', uint32s((s) => s.droppedLinksCount)],
  ...CONTEXT_COLUMNS.map(([name, value]) => [name, 'String', strings(value)] as const),
  ['InputTokens', 'UInt64', uint64s(inputTokens)],
  ['OutputTokens', 'UInt64', uint64s(outputTokens)],
  ['CostUsd', 'Float64', (w, spans) => {
    for (let i = 0; i < spans.length; i++) w.float64(costUsd(spans[i]));
  }],
  ...RESULT_COLUMNS.map(([name, value]) => [name, 'String', strings(value)] as const),
];

const COLUMN_STREAMS = COLUMNS.map(([, type]) => streamsOf(type));
const STREAM_COUNT = COLUMN_STREAMS.reduce((sum, streams) => sum + streams.length, 0);
const OFFSET_STREAMS = COLUMN_STREAMS.reduce((sum, streams) => sum + streams.filter((kind) => kind !== 'data').length, 0);
/** Column count, names and types: what a block holds besides its values (the row count aside). */
const HEADER_BYTES = COLUMNS.reduce((sum, [name, type]) => sum + Buffer.byteLength(name) + Buffer.byteLength(type) + 2, 20);

/** The column list of the INSERT that reads these blocks, so columns are matched by name. */
export const NATIVE_INSERT_COLUMNS = `(${COLUMNS.map(([name]) => '`' + name + '`').join(', ')})`;

/** The values of some spans, column by column, without the block's header: a part of a block. */
export interface NativeColumns {
  rows: number;
  bytes: Buffer;
  /** Where each stream of each column ends in `bytes`. */
  ends: Int32Array;
  /** Gives `bytes` back to the slabs they were copied into (see ByteSlabs); absent otherwise. */
  release?: () => void;
}

/** Where every call is encoded before its bytes are copied out; kept between calls unless huge. */
let scratch: NativeWriter | undefined;
const SCRATCH_KEEP_BYTES = 16 * 1024 * 1024;

/**
 * The spans' values in Native form, to be joined with other calls' into one block: encoded into a
 * reused scratch buffer, then copied into `slabs` (or into a buffer of their own, exactly sized).
 */
export function encodeNativeColumns(spans: readonly Span[], slabs?: ByteSlabs): NativeColumns {
  const w = scratch ?? new NativeWriter(1 << 20);
  scratch = undefined;
  w.reset();
  for (const [, , write] of COLUMNS) {
    write(w, spans);
    w.mark();
  }
  const ends = w.streamEnds();
  if (ends.length !== STREAM_COUNT) throw new Error(`Native encoding wrote ${ends.length} streams, not ${STREAM_COUNT}`);
  const encoded = w.bytes();
  let columns: NativeColumns;
  if (slabs !== undefined) {
    const region = slabs.copy(encoded);
    columns = { rows: spans.length, bytes: region.bytes, ends, release: region.release };
  } else columns = { rows: spans.length, bytes: Buffer.from(encoded), ends };
  if (w.capacity <= SCRATCH_KEEP_BYTES) scratch = w;
  return columns;
}

/**
 * One Native block as pieces whose concatenation is the block: the header, the column names and
 * types and the rebased array offsets are written into one new buffer, and every data stream is a
 * view of its call's bytes, not a copy. Writing the pieces (writev) instead of a joined block keeps
 * an insert's spans from being copied once more into a buffer as large as the insert, which
 * V8 counts as external memory: that allocation alone started a full collection every second or
 * so under load.
 */
export type NativeBlock = readonly Buffer[];

/** The calls of one insert as one block (see NativeBlock). */
export function nativeBlock(parts: readonly NativeColumns[]): NativeBlock {
  let rows = 0;
  for (const part of parts) rows += part.rows;
  // `own` holds everything that is not a view; null in `layout` stands for its next marked range.
  const own = new NativeWriter(HEADER_BYTES + rows * OFFSET_STREAMS * 8);
  const layout: (Buffer | null)[] = [];
  const cut = () => {
    own.mark();
    layout.push(null);
  };
  own.varUInt(COLUMNS.length);
  own.varUInt(rows);
  let stream = 0;
  for (let c = 0; c < COLUMNS.length; c++) {
    own.string(COLUMNS[c][0]);
    own.string(COLUMNS[c][1]);
    for (const kind of COLUMN_STREAMS[c]) {
      let base = 0;
      for (const part of parts) {
        const start = stream === 0 ? 0 : part.ends[stream - 1];
        const end = part.ends[stream];
        if (kind !== 'data') base = own.offsetsFrom(part.bytes, start, end, base);
        else if (end > start) {
          cut();
          layout.push(part.bytes.subarray(start, end));
        }
      }
      stream++;
    }
  }
  cut();
  const bytes = own.bytes();
  const ends = own.streamEnds();
  const pieces: Buffer[] = [];
  let range = 0;
  let from = 0;
  for (const piece of layout) {
    if (piece !== null) pieces.push(piece);
    else {
      const to = ends[range++];
      if (to > from) pieces.push(bytes.subarray(from, to));
      from = to;
    }
  }
  return pieces;
}

/** The bytes of a block in one buffer (server mode's request body, the inline fallback). */
export function joinNativeBlock(block: NativeBlock): Buffer {
  // Always a copy: the pieces may be views of slabs that are reused once the insert settles.
  return Buffer.concat(block);
}

/** One Native block holding every span, in order. */
export function encodeNativeBlock(spans: readonly Span[]): Buffer {
  return joinNativeBlock(nativeBlock([encodeNativeColumns(spans)]));
}
