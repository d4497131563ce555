/**
 * The object store in ClickHouse: `tracehouse_objects`, one row per version of an object
 * (ReplacingMergeTree on `version`, read with FINAL; a delete is a row with `deleted = 1`), and
 * `tracehouse_object_audit`, one row per change with the object before and after (secrets sealed),
 * queryable on the admin endpoint. `inserted_at` is the server's clock, so that every daemon
 * sharing the server polls by the same clock.
 */
import type { TraceStore } from '../component';
import { OBJECT_KINDS } from './objects';
import type { ControlObject, ObjectKind, ObjectSpec } from './objects';

export const OBJECTS_TABLE = 'tracehouse_objects';
export const AUDIT_TABLE = 'tracehouse_object_audit';

function ident(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** ` AND kind NOT IN (...)`, or nothing. */
function withoutKinds(kinds: Iterable<ObjectKind>): string {
  const list = [...kinds];
  return list.length === 0 ? '' : ` AND kind NOT IN (${list.map(quote).join(', ')})`;
}

export interface StoredObject {
  kind: ObjectKind;
  workspace: string;
  id: string;
  version: number;
  deleted: boolean;
  insertedAt: number;
  object: ControlObject;
}

export interface ObjectRow {
  kind: ObjectKind;
  workspace: string;
  id: string;
  version: number;
  createdAt: number;
  updatedAt: number;
  changedBy: string;
  deleted: boolean;
  spec: ObjectSpec;
}

export interface AuditEntry {
  action: 'create' | 'update' | 'delete';
  before: ObjectSpec | undefined;
  after: ObjectSpec | undefined;
}

interface SelectedRow {
  kind: string;
  workspace: string;
  id: string;
  version: number | string;
  created_ms: number | string;
  updated_ms: number | string;
  inserted_ms: number | string;
  changed_by: string;
  deleted: number;
  spec: string;
}

const COLUMNS =
  'kind, workspace, id, version, toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(updated_at) AS updated_ms, toUnixTimestamp64Milli(inserted_at) AS inserted_ms, changed_by, deleted, spec';

export class ObjectTable {
  private readonly objects: string;
  private readonly audit: string;

  constructor(private readonly store: TraceStore) {
    this.objects = `${ident(store.database)}.${ident(OBJECTS_TABLE)}`;
    this.audit = `${ident(store.database)}.${ident(AUDIT_TABLE)}`;
  }

  async ensure(): Promise<void> {
    await this.store.command(`CREATE TABLE IF NOT EXISTS ${this.objects} (
    kind LowCardinality(String),
    workspace String,
    id String,
    version UInt64,
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    changed_by String,
    deleted UInt8,
    spec String,
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(version)
ORDER BY (kind, workspace, id)`);
    await this.store.command(`CREATE TABLE IF NOT EXISTS ${this.audit} (
    at DateTime64(3, 'UTC'),
    kind LowCardinality(String),
    workspace String,
    id String,
    action LowCardinality(String),
    version UInt64,
    changed_by String,
    before String,
    after String
) ENGINE = MergeTree
ORDER BY (workspace, kind, id, at)`);
  }

  /**
   * Every live object (latest versions that are not deletes), but those of `skipKinds`: `kind`
   * leads the ordering key, so their ranges are not read at all.
   */
  async all(skipKinds: Iterable<ObjectKind> = []): Promise<StoredObject[]> {
    return this.select(`WHERE deleted = 0${withoutKinds(skipKinds)}`);
  }

  /** The latest version of every object whose latest row was inserted after `sinceMs` (deletes included), but those of `skipKinds`. */
  async insertedSince(sinceMs: number, skipKinds: Iterable<ObjectKind> = []): Promise<StoredObject[]> {
    return this.select(`WHERE inserted_at > fromUnixTimestamp64Milli(toInt64(${Math.max(0, Math.floor(sinceMs))}))${withoutKinds(skipKinds)}`);
  }

  /** The workspaces holding a live object of `kind` updated at or after `sinceMs` (`kind` leads the key). */
  async workspacesUpdatedSince(kind: ObjectKind, sinceMs: number): Promise<string[]> {
    const rows = await this.store.selectRows<{ workspace: string }>(
      `SELECT DISTINCT workspace FROM ${this.objects} FINAL WHERE kind = ${quote(kind)} AND deleted = 0 AND updated_at >= fromUnixTimestamp64Milli(toInt64(${Math.max(0, Math.floor(sinceMs))}))`,
    );
    return rows.map((row) => row.workspace);
  }

  async one(kind: ObjectKind, workspace: string, id: string): Promise<StoredObject | undefined> {
    const [row] = await this.select(`WHERE kind = ${quote(kind)} AND workspace = ${quote(workspace)} AND id = ${quote(id)}`);
    return row;
  }

  /** The latest versions of some objects of one kind and workspace. */
  async some(kind: ObjectKind, workspace: string, ids: readonly string[]): Promise<StoredObject[]> {
    if (ids.length === 0) return [];
    return this.select(`WHERE kind = ${quote(kind)} AND workspace = ${quote(workspace)} AND id IN (${ids.map(quote).join(', ')})`);
  }

  /** Writes a version of an object, then its audit entry. */
  write(row: ObjectRow, audit: AuditEntry): Promise<void> {
    return this.writeMany([{ row, audit }]);
  }

  /** Writes versions of many objects in one insert, then their audit entries in another. */
  async writeMany(changes: readonly { row: ObjectRow; audit: AuditEntry }[]): Promise<void> {
    if (changes.length === 0) return;
    await this.store.insertRows(
      OBJECTS_TABLE,
      changes.map(({ row }) => ({
        kind: row.kind,
        workspace: row.workspace,
        id: row.id,
        version: row.version,
        created_at: row.createdAt,
        updated_at: row.updatedAt,
        changed_by: row.changedBy,
        deleted: row.deleted ? 1 : 0,
        spec: JSON.stringify(row.spec),
      })),
    );
    await this.store.insertRows(
      AUDIT_TABLE,
      changes.map(({ row, audit }) => ({
        at: row.updatedAt,
        kind: row.kind,
        workspace: row.workspace,
        id: row.id,
        action: audit.action,
        version: row.version,
        changed_by: row.changedBy,
        before: audit.before === undefined ? '' : JSON.stringify(audit.before),
        after: audit.after === undefined ? '' : JSON.stringify(audit.after),
      })),
    );
  }

  private async select(where: string): Promise<StoredObject[]> {
    const rows = await this.store.selectRows<SelectedRow>(`SELECT ${COLUMNS} FROM ${this.objects} FINAL ${where}`);
    const out: StoredObject[] = [];
    for (const row of rows) {
      if (!(OBJECT_KINDS as readonly string[]).includes(row.kind)) continue;
      const kind = row.kind as ObjectKind;
      let spec: ObjectSpec = {};
      try {
        const parsed: unknown = JSON.parse(row.spec);
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) spec = parsed as ObjectSpec;
      } catch {
        // A row that is not JSON is shown empty rather than stopping every other object.
      }
      const version = Number(row.version);
      out.push({
        kind,
        workspace: row.workspace,
        id: row.id,
        version,
        deleted: Number(row.deleted) === 1,
        insertedAt: Number(row.inserted_ms),
        object: { kind, workspace: row.workspace, id: row.id, version, createdAt: Number(row.created_ms), updatedAt: Number(row.updated_ms), changedBy: row.changed_by, source: 'api', spec },
      });
    }
    return out;
  }
}
