/**
 * The embedded ClickHouse engine (chdb) binds one data directory per process. Every component that
 * uses it goes through this registry, so two exporters on the same path share sessions, and a
 * second path fails with an error that says what is wrong instead of chdb's generic refusal.
 */
import fs from 'node:fs';
import path from 'node:path';
import { drainPending, Session } from 'chdb';
import { TracehouseError } from '../errors';

/**
 * A session's purpose. chdb keeps settings per connection, so a reader configured once with
 * `final`/`readonly` never changes how a writer on the same directory behaves. chdb also runs one
 * statement at a time per connection: inserts use two writer connections so that two can run at
 * once (see EmbeddedConnection).
 */
export type EmbeddedRole = 'writer' | 'second-writer' | 'rows-writer' | 'reader' | 'guard';

export interface EmbeddedSessionLease {
  readonly session: Session;
  /** Absolute data directory. */
  readonly path: string;
  /** Settles once the setup given by whoever opened the session has run. */
  readonly ready: Promise<void>;
  /**
   * Runs `work` with no other exclusive work on this session in between, for statements that
   * depend on connection state (USE, SET) shared by every lease of the session.
   */
  exclusive<T>(work: (session: Session) => Promise<T>): Promise<T>;
  /** Idempotent. The session closes when its last lease is released. */
  release(): Promise<void>;
}

interface Entry {
  session: Session;
  refs: number;
  ready: Promise<void>;
  chain: Promise<unknown>;
}

const entries = new Map<string, Entry>();

function keyOf(dir: string, role: EmbeddedRole): string {
  return `${role}\0${dir}`;
}

function openDirectory(): string | undefined {
  for (const key of entries.keys()) return key.slice(key.indexOf('\0') + 1);
  return undefined;
}

/**
 * `setup` runs once, when the session is opened; later leases of the same role wait for it through
 * `ready`, so per-connection settings are in place before anyone queries.
 */
export function acquireEmbeddedSession(
  dataPath: string,
  role: EmbeddedRole,
  setup?: (session: Session) => Promise<void>,
  settings: readonly string[] = [],
): EmbeddedSessionLease {
  const dir = path.resolve(dataPath);
  const key = keyOf(dir, role);
  let entry = entries.get(key);
  if (!entry) {
    const other = openDirectory();
    if (other !== undefined && other !== dir) {
      throw new TracehouseError(
        'EXP_CLICKHOUSE_EMBEDDED_PATH',
        `the embedded ClickHouse engine is already open at ${other}; one process can use only one ` +
          `data directory, so every embedded clickhouse exporter must use the same path (got ${dir})`,
      );
    }
    fs.mkdirSync(dir, { recursive: true });
    const session = new Session(dir, { connectionArgs: [...engineArgs(dir), ...settings] });
    const ready = setup ? setup(session) : Promise.resolve();
    // Observed here so a failed setup is not an unhandled rejection; each lease rethrows it.
    ready.catch(() => undefined);
    entry = { session, refs: 0, ready, chain: ready.catch(() => undefined) };
    entries.set(key, entry);
  }
  entry.refs += 1;
  const held = entry;
  let released = false;
  return {
    session: held.session,
    path: dir,
    ready: held.ready,
    exclusive<T>(work: (session: Session) => Promise<T>): Promise<T> {
      const run = held.chain.then(() => work(held.session));
      held.chain = run.catch(() => undefined);
      return run;
    },
    async release() {
      if (released) return;
      released = true;
      held.refs -= 1;
      if (held.refs > 0) return;
      if (entries.get(key) === held) entries.delete(key);
      held.session.close();
      // close() defers the native teardown while operations still run on the connection; waiting
      // here means a caller that released everything can open another directory right away.
      if (entries.size === 0) await drainPending();
    },
  };
}

/**
 * The engine's file access (the file() table function, format schemas, user scripts) confined to
 * an empty directory inside the data directory. The query guard refuses those functions anyway;
 * this is the second wall. It does not hold for the scalar file(), which the embedded engine lets
 * read absolute paths: only the guard's function allow-list keeps that one out.
 */
function engineArgs(dir: string): string[] {
  const empty = path.join(dir, 'tracehouse_no_user_files');
  fs.mkdirSync(empty, { recursive: true });
  return [`--user_files_path=${empty}`, `--format_schema_path=${empty}`, `--user_scripts_path=${empty}`];
}

/**
 * A connection of its own for one statement, closed by the caller: settings given here at connect
 * (e.g. `--readonly=1`) hold for its whole life, and nothing run on it can reach another caller.
 * The directory must be the one this process already has open (or none).
 */
export function openTransientSession(dataPath: string, settings: readonly string[]): Session {
  const dir = path.resolve(dataPath);
  const other = openDirectory();
  if (other !== undefined && other !== dir) {
    throw new TracehouseError('EXP_CLICKHOUSE_EMBEDDED_PATH', `the embedded ClickHouse engine is already open at ${other}, not ${dir}`);
  }
  return new Session(dir, { connectionArgs: [...engineArgs(dir), ...settings] });
}

/** Directories with a live session, for diagnostics and tests. */
export function openEmbeddedPaths(): string[] {
  return [...new Set([...entries.keys()].map((k) => k.slice(k.indexOf('\0') + 1)))];
}
