/**
 * What the admin query endpoint lets an analyst use, as allow-lists: anything the engine has that
 * is not named here (a new table function, a new system table, a function that reads files or
 * settings) is refused without anyone having to think of it.
 */

/** Table functions that only compute: they read no file, URL, server, process or setting. */
export const ALLOWED_TABLE_FUNCTIONS: ReadonlyMap<string, { bounded: boolean }> = new Map([
  // `bounded`: must be called with arguments (numbers() without them never ends).
  ['numbers', { bounded: true }],
  ['numbers_mt', { bounded: true }],
  ['zeros', { bounded: true }],
  ['zeros_mt', { bounded: true }],
  ['generateSeries', { bounded: true }],
  ['generate_series', { bounded: true }],
  ['values', { bounded: false }],
  ['view', { bounded: false }],
  ['null', { bounded: false }],
]);

/** System tables that describe the schema and the engine, never settings, users, processes or paths. */
export const ALLOWED_SYSTEM_TABLES: ReadonlySet<string> = new Set([
  'one',
  'columns',
  'functions',
  'table_functions',
  'aggregate_function_combinators',
  'formats',
  'data_type_families',
  'table_engines',
  'time_zones',
]);

/**
 * Function categories (system.functions.categories) of pure computation over the row: no I/O, no
 * settings or server state, no dictionaries or models loaded from files, no network.
 */
export const ALLOWED_FUNCTION_CATEGORIES: ReadonlySet<string> = new Set([
  'Aggregate Functions', 'Arithmetic', 'Arrays', 'Bit', 'Bitmap', 'Comparison', 'Conditional',
  'Dates and Times', 'Distance', 'Encoding', 'Encryption', 'Financial', 'Geo', 'Geo Polygon', 'Hash',
  'IP Address', 'JSON', 'Logical', 'Map', 'Mathematical', 'Null', 'NumericIndexedVector', 'QBit',
  'Random Number', 'Rounding', 'String', 'String Replacement', 'String Search', 'String Splitting',
  'Time Series', 'Time Window', 'Tuple', 'Type Conversion', 'URL', 'UUID',
]);

/** Pure functions from the engine's catch-all categories that analysts use. */
export const ALLOWED_EXTRA_FUNCTIONS: ReadonlySet<string> = new Set([
  // Produced by the parser for syntax: x -> y, EXISTS (...), CASE x WHEN, x::T.
  'lambda', 'exists', 'caseWithExpression', '_CAST', 'arrayJoin', 'untuple', 'grouping',
  'bar', 'byteSize', 'countDigits', 'currentDatabase', 'defaultValueOfArgumentType', 'defaultValueOfTypeName',
  'dumpColumnStructure', 'errorCodeToName', 'finalizeAggregation', 'formatReadableDecimalSize',
  'formatReadableQuantity', 'formatReadableSize', 'formatReadableTimeDelta', 'getSizeOfEnumType', 'getSubcolumn',
  'identity', 'ignore', 'indexHint', 'initializeAggregation', 'isConstant', 'isDecimalOverflow',
  'lowCardinalityIndices', 'lowCardinalityKeys', 'MACNumToString', 'MACStringToNum', 'MACStringToOUI',
  'materialize', 'neighbor', 'parseReadableSize', 'parseReadableSizeOrNull', 'parseReadableSizeOrZero',
  'parseTimeDelta', 'rowNumberInAllBlocks', 'rowNumberInBlock', 'blockNumber', 'blockSize', 'runningAccumulate',
  'runningDifference', 'runningDifferenceStartingWithFirstValue', 'throwIf', 'toColumnTypeName', 'toTypeName',
  'transform', 'variantElement', 'variantType', 'visibleWidth', 'version',
]);

/** Output formats an answer may use: none reads a schema or template file. */
export const ALLOWED_FORMATS: ReadonlySet<string> = new Set(
  [
    'JSON', 'JSONStrings', 'JSONCompact', 'JSONCompactStrings', 'JSONColumns', 'JSONCompactColumns',
    'JSONEachRow', 'JSONStringsEachRow', 'JSONCompactEachRow', 'JSONCompactStringsEachRow',
    'JSONCompactEachRowWithNames', 'JSONCompactEachRowWithNamesAndTypes', 'JSONObjectEachRow', 'JSONLines',
    'NDJSON', 'PrettyJSONEachRow', 'TabSeparated', 'TSV', 'TabSeparatedRaw', 'TSVRaw', 'TabSeparatedWithNames',
    'TSVWithNames', 'TabSeparatedWithNamesAndTypes', 'TSVWithNamesAndTypes', 'TabSeparatedRawWithNames',
    'TSVRawWithNames', 'TabSeparatedRawWithNamesAndTypes', 'TSVRawWithNamesAndTypes', 'CSV', 'CSVWithNames',
    'CSVWithNamesAndTypes', 'Pretty', 'PrettyCompact', 'PrettyCompactMonoBlock', 'PrettySpace',
    'PrettyNoEscapes', 'PrettyCompactNoEscapes', 'PrettySpaceNoEscapes', 'Vertical', 'Markdown', 'Values',
    'XML', 'TSKV', 'Null', 'Native', 'RowBinary', 'RowBinaryWithNames', 'RowBinaryWithNamesAndTypes',
    'Parquet', 'Arrow', 'ArrowStream', 'ORC', 'Avro',
  ],
);

/** The allowed format with this name (format names are matched case-insensitively), if any. */
export function allowedFormat(name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const format of ALLOWED_FORMATS) if (format.toLowerCase() === lower) return format;
  return undefined;
}

/** One row of system.functions, as the catalogue needs it. */
export interface EngineFunction {
  name: string;
  alias_to: string;
  case_insensitive: number | boolean;
  is_aggregate: number | boolean;
  categories: string;
  origin: string;
}

/**
 * The engine's functions that the policy allows, built from system.functions so aliases,
 * case-insensitive names and aggregate combinators (`countIf`, `sumOrNull`, `uniqStateIf`) resolve
 * the way the engine resolves them.
 */
export class FunctionCatalogue {
  private readonly allowed = new Set<string>();
  private readonly allowedInsensitive = new Set<string>();
  private readonly aggregates = new Set<string>();
  private readonly combinators: readonly string[];

  constructor(functions: readonly EngineFunction[], combinators: readonly string[]) {
    // Longest first, so `MergeState` is stripped before `State`.
    this.combinators = [...combinators].sort((a, b) => b.length - a.length);
    const byName = new Map(functions.map((f) => [f.name, f]));
    const permitted = (f: EngineFunction): boolean => {
      const target = f.alias_to ? byName.get(f.alias_to) ?? f : f;
      if (target.origin !== 'System') return false;
      if (ALLOWED_EXTRA_FUNCTIONS.has(target.name)) return true;
      return target.categories.split(',').some((c) => ALLOWED_FUNCTION_CATEGORIES.has(c.trim()));
    };
    for (const f of functions) {
      if (!permitted(f)) continue;
      this.allowed.add(f.name);
      if (f.case_insensitive === 1 || f.case_insensitive === true) this.allowedInsensitive.add(f.name.toLowerCase());
      const target = f.alias_to ? byName.get(f.alias_to) ?? f : f;
      if (target.is_aggregate === 1 || target.is_aggregate === true) this.aggregates.add(f.name);
    }
    for (const name of ALLOWED_EXTRA_FUNCTIONS) this.allowed.add(name);
  }

  allows(name: string): boolean {
    if (this.allowed.has(name) || this.allowedInsensitive.has(name.toLowerCase())) return true;
    // An aggregate function with combinator suffixes: strip them one at a time.
    let base = name;
    for (let round = 0; round < 8; round++) {
      const suffix = this.combinators.find((c) => base.length > c.length && base.endsWith(c));
      if (!suffix) return false;
      base = base.slice(0, -suffix.length);
      if (this.aggregates.has(base)) return true;
    }
    return false;
  }
}
