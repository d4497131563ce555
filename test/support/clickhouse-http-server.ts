/**
 * A stand-in for a ClickHouse server's HTTP interface (no server binary or Docker here), backed by
 * the embedded engine so every statement really runs. It speaks the parts of the protocol that
 * @clickhouse/client uses: the query in the `query` URL parameter and/or the POST body (for INSERT
 * the body is the data), `database` as parameter or X-ClickHouse-Database header, other URL
 * parameters as settings, credentials as Basic auth or X-ClickHouse-User/Key, X-ClickHouse-Format
 * and X-ClickHouse-Summary on success, and `Code: N. DB::Exception: ...` bodies with
 * X-ClickHouse-Exception-Code and a ClickHouse-like status on failure.
 *
 * Tests can inject faults (HTTP 503 without a ClickHouse body, a dropped connection, a specific
 * ClickHouse exception) to exercise retries.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { drainPending, Session } from 'chdb';

export type Fault =
  | { kind: 'status'; status: number; body?: string }
  | { kind: 'reset' }
  | { kind: 'exception'; code: number; name: string; message: string; status?: number };

export interface RecordedRequest {
  query: string;
  /** The user the request authenticated as. */
  user?: string;
  database: string;
  settings: Record<string, string>;
  bodyBytes: number;
  fault?: Fault['kind'];
}

interface Rule {
  fault: Fault;
  /** Remaining requests to fail; Infinity until cleared. */
  times: number;
  match: (query: string) => boolean;
}

/** URL parameters that are part of the HTTP protocol, not settings. */
const PROTOCOL_PARAMS = new Set([
  'query', 'database', 'query_id', 'user', 'password', 'default_format', 'session_id',
  'session_timeout', 'session_check', 'compress', 'decompress', 'role', 'quota_key',
  'enable_http_compression', 'wait_end_of_query',
]);

// The subset of ClickHouse's exception -> HTTP status mapping that these tests can reach.
function statusFor(code: number | undefined): number {
  if (code === undefined) return 500;
  if ([6, 25, 26, 27, 38, 41, 53, 62, 69, 70, 72, 117, 321, 349, 407, 691].includes(code)) return 400;
  if ([516, 192, 194].includes(code)) return 401;
  if ([497].includes(code)) return 403;
  if ([60, 81, 46, 47, 115].includes(code)) return 404;
  return 500;
}

interface Lane {
  session: Session;
  chain: Promise<unknown>;
}

export class ClickhouseHttpServer {
  readonly requests: RecordedRequest[] = [];
  private readonly rules: Rule[] = [];
  private readonly lanes = new Map<string, Lane>();

  private constructor(
    private readonly server: http.Server,
    private readonly dataPath: string,
    private readonly credentials: { user: string; password: string },
    /** Further users (name -> password), e.g. a least-privilege reader. */
    private readonly otherUsers: Record<string, string> = {},
  ) {}

  static async start(options: { path: string; user?: string; password?: string; users?: Record<string, string> }): Promise<ClickhouseHttpServer> {
    const server = http.createServer();
    const double = new ClickhouseHttpServer(
      server,
      options.path,
      { user: options.user ?? 'default', password: options.password ?? '' },
      options.users,
    );
    server.on('request', (req, res) => void double.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return double;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Fails the next `times` matching requests (Infinity: until clearFaults). */
  fail(fault: Fault, times = 1, match: (query: string) => boolean = () => true): void {
    this.rules.push({ fault, times, match });
  }

  clearFaults(): void {
    this.rules.length = 0;
  }

  /**
   * Holds every INSERT that arrives from now on (after recording it) until the returned function
   * is called, so a test can keep an insert in flight while it does something else.
   */
  holdInserts(): () => void {
    let release!: () => void;
    this.inserts = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.inserts = undefined;
      release();
    };
  }

  private inserts: Promise<void> | undefined;

  /** Runs a statement directly on the backing engine, bypassing HTTP (for test assertions). */
  async sql(query: string, format = 'JSONEachRow'): Promise<string> {
    return this.run(query, 'default', {}, format).then((r) => r.body.toString('utf8'));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const lane of this.lanes.values()) {
      await lane.chain;
      lane.session.close();
    }
    this.lanes.clear();
    // The engine allows one data directory per process: release this one fully for the next file.
    await drainPending();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const body = await readBody(req);
    if (url.pathname === '/ping') {
      res.end('Ok.\n');
      return;
    }
    const params = url.searchParams;
    const database = params.get('database') ?? header(req, 'x-clickhouse-database') ?? 'default';
    const settings: Record<string, string> = {};
    for (const [key, value] of params) {
      if (!PROTOCOL_PARAMS.has(key) && !key.startsWith('param_')) settings[key] = value;
    }
    const queryParam = params.get('query');
    const insert = queryParam !== null ? parseInsert(queryParam) : undefined;
    const query = insert ? queryParam! : [queryParam ?? '', body.toString('utf8')].filter(Boolean).join('\n');
    const record: RecordedRequest = { query, database, settings, bodyBytes: body.length };
    this.requests.push(record);

    if (insert && this.inserts) await this.inserts;
    const rule = this.rules.find((r) => r.times > 0 && r.match(query));
    if (rule) {
      rule.times -= 1;
      record.fault = rule.fault.kind;
      this.sendFault(req, res, rule.fault);
      return;
    }
    record.user = this.authorized(req, params);
    if (record.user === undefined) {
      this.sendError(res, 516, `${this.credentials.user}: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)`);
      return;
    }
    try {
      const result = insert
        ? await this.insert(insert, body, database, settings)
        : await this.run(query, database, settings, params.get('default_format') ?? 'TabSeparated', queryParams(params));
      res.setHeader('X-ClickHouse-Query-Id', params.get('query_id') ?? '');
      res.setHeader('X-ClickHouse-Format', result.format);
      res.setHeader('X-ClickHouse-Summary', JSON.stringify({
        read_rows: '0', read_bytes: '0', written_rows: String(result.written), written_bytes: '0',
        total_rows_to_read: '0', result_rows: '0', result_bytes: String(result.body.length),
      }));
      res.setHeader('Content-Type', 'text/plain; charset=UTF-8');
      res.end(result.body);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const match = /^Code: (\d+)\. DB::Exception: ([\s\S]*)$/.exec(message);
      this.sendError(res, match ? Number(match[1]) : 1001, match ? match[2] : message);
    }
  }

  /** The authenticated user's name, or undefined. */
  private authorized(req: http.IncomingMessage, params: URLSearchParams): string | undefined {
    let user = header(req, 'x-clickhouse-user') ?? params.get('user') ?? undefined;
    let password = header(req, 'x-clickhouse-key') ?? params.get('password') ?? undefined;
    const auth = header(req, 'authorization');
    if (auth?.startsWith('Basic ')) {
      const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      user = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
    const name = user ?? 'default';
    if (name === this.credentials.user) return (password ?? '') === this.credentials.password ? name : undefined;
    return Object.hasOwn(this.otherUsers, name) && this.otherUsers[name] === (password ?? '') ? name : undefined;
  }

  private sendFault(req: http.IncomingMessage, res: http.ServerResponse, fault: Fault): void {
    if (fault.kind === 'reset') {
      req.socket.destroy();
    } else if (fault.kind === 'status') {
      res.statusCode = fault.status;
      res.end(fault.body ?? 'Service Unavailable');
    } else {
      this.sendError(res, fault.code, `${fault.message} (${fault.name})`, fault.status);
    }
  }

  private sendError(res: http.ServerResponse, code: number, message: string, status = statusFor(code)): void {
    res.statusCode = status;
    res.setHeader('X-ClickHouse-Exception-Code', String(code));
    res.setHeader('Content-Type', 'text/plain; charset=UTF-8');
    res.end(`Code: ${code}. DB::Exception: ${message.trimEnd()} (version double)\n`);
  }

  /** One engine connection per distinct settings, with the settings SET once and kept. */
  private lane(settings: Record<string, string>): Promise<Lane> {
    const key = JSON.stringify(Object.entries(settings).sort());
    let lane = this.lanes.get(key);
    if (!lane) {
      const session = new Session(this.dataPath);
      const setup = (async () => {
        // readonly last: once set, further SETs of it would be refused.
        const entries = Object.entries(settings).sort(([a], [b]) => Number(a === 'readonly') - Number(b === 'readonly'));
        for (const [name, value] of entries) await session.queryAsync(`SET ${name} = ${literal(value)}`);
      })();
      lane = { session, chain: setup };
      this.lanes.set(key, lane);
    }
    return Promise.resolve(lane);
  }

  /** Serializes statements on a lane: `USE` is connection state. */
  private async exclusive<T>(settings: Record<string, string>, work: (session: Session) => Promise<T>): Promise<T> {
    const lane = await this.lane(settings);
    const run = lane.chain.then(() => work(lane.session));
    lane.chain = run.catch(() => undefined);
    return run;
  }

  private run(query: string, database: string, settings: Record<string, string>, defaultFormat: string, bound: Record<string, string> = {}) {
    const format = /\bFORMAT\s+([A-Za-z][A-Za-z0-9_]*)\s*;?\s*$/i.exec(query)?.[1] ?? defaultFormat;
    return this.exclusive(settings, async (session) => {
      await session.queryAsync(`USE \`${database}\``);
      // `{name:Type}` placeholders bound from param_<name>, as the server does.
      const result = Object.keys(bound).length > 0
        ? await session.queryBindAsync(query, bound, { format })
        : await session.queryAsync(query, { format });
      return { body: Buffer.from(result.bytes()), format, written: 0 };
    });
  }

  private insert(target: ParsedInsert, body: Buffer, database: string, settings: Record<string, string>) {
    const table = target.table.includes('.') ? target.table : `${database}.${target.table}`;
    return this.exclusive(settings, async (session) => {
      if (!BINARY_FORMATS.has(target.format.toLowerCase())) {
        const summary = await session.insert({ table, values: body, format: target.format as 'JSONEachRow' });
        return { body: Buffer.alloc(0), format: target.format, written: summary.rowsWritten };
      }
      // The engine's inline data would end at the first blank line: binary bodies go through a file.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ch-double-insert-'));
      try {
        const file = path.join(dir, 'body.bin');
        fs.writeFileSync(file, body);
        await session.queryAsync(`INSERT INTO ${table} ${target.columns} FROM INFILE '${file}' FORMAT ${target.format}`);
        return { body: Buffer.alloc(0), format: target.format, written: 0 };
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}

interface ParsedInsert {
  table: string;
  /** The column list as sent ("(a, b)"), or ''. */
  columns: string;
  format: string;
}

const BINARY_FORMATS = new Set(['native', 'rowbinary']);

function parseInsert(query: string): ParsedInsert | undefined {
  const match = /^\s*INSERT\s+INTO\s+([A-Za-z0-9_.]+)\s*(\([A-Za-z0-9_.`, ]*\))?\s*FORMAT\s+(JSONEachRow|JSONCompactEachRow|TabSeparated|CSV|Native|RowBinary)\s*$/i.exec(query);
  return match ? { table: match[1], columns: match[2] ?? '', format: match[3] } : undefined;
}

/**
 * `param_<name>` values bound as the server binds them: the HTTP interface reads them in the
 * escaped (TabSeparated) form clients send (`\'`, `\\`, `\t`, `\n`, ...), so they are unescaped first.
 */
function queryParams(params: URLSearchParams): Record<string, string> {
  const bound: Record<string, string> = {};
  for (const [key, value] of params) if (key.startsWith('param_')) bound[key.slice('param_'.length)] = unescapeParam(value);
  return bound;
}

const ESCAPES: Readonly<Record<string, string>> = { t: '\t', n: '\n', r: '\r', b: '\b', f: '\f', '0': '\0' };

function unescapeParam(value: string): string {
  return value.replace(/\\(.)/gs, (_match, ch: string) => ESCAPES[ch] ?? ch);
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function literal(value: string): string {
  return /^-?\d+(\.\d+)?$/.test(value) ? value : `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
