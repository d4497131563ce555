/**
 * The control-plane catalog: every control-plane object this daemon knows, from pipelines.yaml
 * (declared by the components that own them, read-only) and from the object store (written over
 * HTTP, shared by every daemon on the same ClickHouse). Components watch the kinds they use; a
 * write is applied here before it is answered, and the other daemons pick it up within
 * refresh_interval_ms by polling the store for rows inserted since their last look.
 */
import type { TraceStore } from '../component';
import type { Broadcast } from '../shared-state/broadcast';
import type { OnUnavailable } from '../shared-state/config';
import type { LockOutcome } from '../shared-state/locks';
import { errorMessage } from '../errors';
import type { Logger } from '../logger';
import { ObjectTable } from './object-table';
import type { AuditEntry, ObjectRow, StoredObject } from './object-table';
import { GLOBAL_WORKSPACE, objectKey, STORED_ONLY_KINDS } from './objects';
import type { ControlObject, ObjectKind, ObjectSpec } from './objects';
import { SECRET_FIELDS } from './secret-fields';
import { hasSecrets, mapSecrets, SecretBox, SecretsKeyError } from './secrets';

export type ObjectListener = (objects: readonly ControlObject[]) => void;

/** Why a write was refused; `status` is the HTTP answer. */
/**
 * Expiry of a control-plane write lock. The holder renews it every third of it while the write
 * runs (however slow the store), so it only bounds how long a holder that died blocks the object.
 */
const WRITE_LOCK_TTL_MS = 5_000;
/** How long a write waits for another instance's write of the same object before answering 409. */
const WRITE_LOCK_WAIT_MS = 2_000;

interface WriteLock {
  acquire(name: string, ttlMs: number, waitMs: number): Promise<LockOutcome>;
  onUnavailable: OnUnavailable;
}

export class ObjectWriteError extends Error {
  constructor(
    readonly status: 404 | 409 | 412 | 422 | 503,
    message: string,
  ) {
    super(message);
  }
}

export interface ObjectWrite {
  kind: ObjectKind;
  workspace: string;
  id: string;
  /** The new spec; null deletes the object. */
  spec: ObjectSpec | null;
  changedBy: string;
  /** The version the writer last saw (If-Match); a different current version answers 412. */
  ifMatch?: number;
  /** Create only: an existing object answers 409. */
  create?: boolean;
}

/** What components see of the catalog (through the host). */
export interface ControlObjects {
  /** The objects of `kind` (every workspace, config and API), now and after every change. */
  watch(kind: ObjectKind, listener: ObjectListener): () => void;
  /** Replaces the config objects `owner` declares for `kind` (shown read-only in the API). */
  declare(owner: string, kind: ObjectKind, objects: readonly { workspace: string; id: string; spec: ObjectSpec }[]): void;
  /**
   * The objects of `kind` visible to `workspace` (its own and the global ones), or all. A kind of
   * STORED_ONLY_KINDS is not held: only its config objects show here (use `fetch`).
   */
  list(kind: ObjectKind, workspace?: string): ControlObject[];
  /** As `list`: a kind of STORED_ONLY_KINDS answers only its config objects (use `fetch`). */
  get(kind: ObjectKind, workspace: string, id: string): ControlObject | undefined;
  /**
   * The live objects among `ids` as `get` finds them, by id; a kind of STORED_ONLY_KINDS is also
   * read from the store (the workspace's latest versions, one query per 1,000 ids). Rejects when
   * the store cannot be read.
   */
  fetch(kind: ObjectKind, workspace: string, ids: readonly string[]): Promise<Map<string, ControlObject>>;
  /**
   * For a kind of STORED_ONLY_KINDS: the workspaces holding a live object of it updated at or
   * after `sinceMs`, read from the store, and a listener told of each one this daemon writes.
   */
  workspacesUpdatedSince(kind: ObjectKind, sinceMs: number): Promise<Set<string>>;
  onStoredWrite(kind: ObjectKind, listener: (workspace: string) => void): () => void;
  /** Creates, replaces or deletes an API object; resolves with it (undefined after a delete). */
  write(change: ObjectWrite): Promise<ControlObject | undefined>;
  /**
   * Many changes of one kind in one workspace (a bulk review), stored with one insert: each
   * replaces or deletes its object whatever its version (no If-Match, no create-only). Deleting
   * an object that does not exist is skipped. Resolves with how many objects changed.
   */
  writeMany(kind: ObjectKind, workspace: string, changes: readonly { id: string; spec: ObjectSpec | null }[], changedBy: string): Promise<number>;
  /** Whether writes can be stored (a store is attached). */
  readonly writable: boolean;
}

export interface CatalogOptions {
  logger: Logger;
  refreshIntervalMs: number;
  /** The operator's secrets key; without one, objects holding secrets cannot be stored (422). */
  secretsKey?: string;
  /** Tests move time. */
  now?: () => number;
}

/** Rows inserted this long before the newest seen are read again (inserts of other daemons that landed late). */
const POLL_OVERLAP_MS = 5_000;

/**
 * How long the version of a deleted object is remembered (below). A poll reads the latest
 * versions (FINAL), so only a poll already running when the delete landed can bring back an older
 * one; every later poll sees the delete itself.
 */
const GONE_TTL_MS = 10 * 60_000;

/**
 * Objects held by kind, each kind keyed by objectKey: a list reads only its kind. The versions of
 * deleted objects are remembered too, for GONE_TTL_MS, so that a poll that read the store before a
 * delete landed cannot bring the object back. Kinds of STORED_ONLY_KINDS are never held.
 */
class HeldObjects {
  private readonly byKind = new Map<ObjectKind, Map<string, ControlObject>>();
  /** Version a key was deleted at, and when (insertion order is deletion order, for pruning). */
  private readonly gone = new Map<string, { version: number; at: number }>();

  constructor(private readonly now: () => number) {}

  of(kind: ObjectKind): ReadonlyMap<string, ControlObject> {
    return this.byKind.get(kind) ?? new Map();
  }

  get(kind: ObjectKind, key: string): ControlObject | undefined {
    return this.byKind.get(kind)?.get(key);
  }

  /** The version held for a key, or the version it was deleted at. */
  versionOf(kind: ObjectKind, key: string): number | undefined {
    return this.byKind.get(kind)?.get(key)?.version ?? this.gone.get(key)?.version;
  }

  /** Forgets the versions of objects deleted more than GONE_TTL_MS ago. */
  pruneGone(): void {
    const oldest = this.now() - GONE_TTL_MS;
    for (const [key, { at }] of this.gone) {
      if (at > oldest) break;
      this.gone.delete(key);
    }
  }

  set(object: ControlObject): void {
    let map = this.byKind.get(object.kind);
    if (!map) this.byKind.set(object.kind, (map = new Map()));
    const key = objectKey(object.kind, object.workspace, object.id);
    map.set(key, object);
    this.gone.delete(key);
  }

  delete(kind: ObjectKind, key: string, version: number): boolean {
    this.gone.delete(key);
    this.gone.set(key, { version, at: this.now() });
    return this.byKind.get(kind)?.delete(key) ?? false;
  }
}

export class ObjectCatalog implements ControlObjects {
  /** Listeners of onStoredWrite: kinds not held in memory, written by this daemon. */
  private readonly storedWriteListeners = new Set<{ kind: ObjectKind; listener: (workspace: string) => void }>();
  private readonly objects: HeldObjects;
  private readonly declared = new Map<string, ControlObject[]>();
  private readonly listeners = new Map<ObjectKind, Set<ObjectListener>>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly box: SecretBox | undefined;
  private readonly now: () => number;
  private table: ObjectTable | undefined;
  private newestInsert = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private pollAgain = false;
  private changes: Broadcast | undefined;
  private lock: WriteLock | undefined;

  /** A catalog with no store: config objects only (hosts of tests and benchmarks). */
  static detached(logger: Logger): ObjectCatalog {
    return new ObjectCatalog({ logger, refreshIntervalMs: 60_000 });
  }

  constructor(private readonly options: CatalogOptions) {
    this.box = options.secretsKey ? new SecretBox(options.secretsKey) : undefined;
    this.now = options.now ?? Date.now;
    this.objects = new HeldObjects(() => this.now());
  }

  get writable(): boolean {
    return this.table !== undefined;
  }

  /** Opens the store's tables and loads every stored object; fails when stored secrets cannot be read. */
  async attach(store: TraceStore | undefined): Promise<void> {
    if (!store) return;
    const table = new ObjectTable(store);
    await table.ensure();
    const rows = await table.all(STORED_ONLY_KINDS);
    for (const row of rows) this.applyStored(row, false);
    this.table = table;
    for (const kind of new Set(rows.map((r) => r.kind))) this.notify(kind);
  }

  /**
   * Announces this daemon's writes on `channel` and reads the store as soon as another daemon
   * announces one (polling stays, as the fallback), and each time the subscription is
   * (re)established: announcements made while Redis was away were lost.
   */
  announceChanges(channel: Broadcast | undefined): void {
    if (!channel || !this.table) return;
    this.changes = channel;
    channel.subscribe(
      () => void this.refreshSoon(),
      () => void this.refreshSoon(),
    );
  }

  /**
   * Serialises writes of one object across instances with a short lock (ClickHouse alone cannot
   * compare and set): two instances cannot both win the same If-Match. A lock another instance
   * holds past the wait refuses the write (409, retry); with Redis away, `onUnavailable` says
   * whether a write goes ahead unlocked, as on a single instance (allow), or is refused (503).
   */
  lockWrites(acquire: (name: string, ttlMs: number, waitMs: number) => Promise<LockOutcome>, onUnavailable: OnUnavailable): void {
    this.lock = { acquire, onUnavailable };
  }

  /**
   * Takes the write locks of `keys` (sorted, so two writers of overlapping sets cannot deadlock);
   * the release of all of them. Throws ObjectWriteError when one is busy or Redis is away under
   * `refuse`.
   */
  private async lockObjects(keys: readonly string[]): Promise<() => Promise<void>> {
    const lock = this.lock;
    const releases: (() => Promise<void>)[] = [];
    const releaseAll = async () => {
      await Promise.all(releases.map((release) => release()));
    };
    if (!lock) return releaseAll;
    for (const key of [...new Set(keys)].sort()) {
      const outcome = await lock.acquire(`object:${key}`, WRITE_LOCK_TTL_MS, WRITE_LOCK_WAIT_MS);
      if (outcome.state === 'held') {
        releases.push(outcome.release);
        continue;
      }
      if (outcome.state === 'unavailable' && lock.onUnavailable === 'allow') continue;
      await releaseAll();
      if (outcome.state === 'busy') throw new ObjectWriteError(409, `another instance is writing ${key.split('\u0000').join('/')} right now; read it again and retry`);
      throw new ObjectWriteError(503, 'the shared store (Redis) that orders control-plane writes across instances is unavailable; retry later');
    }
    return releaseAll;
  }

  /** A refresh now, or right after the one running (a change may have landed after its read). */
  private refreshSoon(): Promise<void> {
    if (this.polling) {
      this.pollAgain = true;
      return this.polling;
    }
    return this.refresh();
  }

  /** Starts polling the store for other daemons' changes. */
  startRefresh(): void {
    if (!this.table || this.timer) return;
    this.timer = setInterval(() => void this.refresh(), this.options.refreshIntervalMs);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  /** Reads rows inserted since the last look and applies the newer versions. */
  refresh(): Promise<void> {
    this.polling ??= this.poll().finally(() => {
      this.polling = undefined;
      if (this.pollAgain) {
        this.pollAgain = false;
        void this.refresh();
      }
    });
    return this.polling;
  }

  private async poll(): Promise<void> {
    const table = this.table;
    if (!table) return;
    this.objects.pruneGone();
    let rows: StoredObject[];
    try {
      rows = await table.insertedSince(this.newestInsert - POLL_OVERLAP_MS, STORED_ONLY_KINDS);
    } catch (err) {
      this.options.logger.warn({ err: errorMessage(err) }, 'control plane: reading the object store failed; retrying at the next refresh');
      return;
    }
    const changed = new Set<ObjectKind>();
    for (const row of rows) {
      try {
        if (this.applyStored(row, true)) changed.add(row.kind);
      } catch (err) {
        this.options.logger.error({ err: errorMessage(err), kind: row.kind, workspace: row.workspace, id: row.id }, 'control plane: a stored object cannot be read');
      }
    }
    for (const kind of changed) this.notify(kind);
  }

  /** Applies a stored row when it is newer than what is held; true when something changed. */
  private applyStored(row: StoredObject, onlyNewer: boolean): boolean {
    if (STORED_ONLY_KINDS.has(row.kind)) return false;
    this.newestInsert = Math.max(this.newestInsert, row.insertedAt);
    const key = objectKey(row.kind, row.workspace, row.id);
    const known = this.objects.versionOf(row.kind, key);
    if (onlyNewer && known !== undefined && known >= row.version) return false;
    if (row.deleted) return this.objects.delete(row.kind, key, row.version);
    this.objects.set({ ...row.object, spec: this.openSecrets(row.object.kind, row.object.spec) });
    return true;
  }

  watch(kind: ObjectKind, listener: ObjectListener): () => void {
    let set = this.listeners.get(kind);
    if (!set) this.listeners.set(kind, (set = new Set()));
    set.add(listener);
    listener(this.list(kind));
    return () => set.delete(listener);
  }

  declare(owner: string, kind: ObjectKind, objects: readonly { workspace: string; id: string; spec: ObjectSpec }[]): void {
    const at = this.now();
    this.declared.set(
      `${owner}\u0000${kind}`,
      objects.map((o) => ({ kind, workspace: o.workspace, id: o.id, version: 1, createdAt: at, updatedAt: at, changedBy: 'config', source: 'config', spec: o.spec })),
    );
    this.notify(kind);
  }

  list(kind: ObjectKind, workspace?: string): ControlObject[] {
    const visible = (o: ControlObject) => workspace === undefined || o.workspace === workspace || o.workspace === GLOBAL_WORKSPACE;
    const out: ControlObject[] = [];
    for (const objects of this.declared.values()) for (const o of objects) if (o.kind === kind && visible(o)) out.push(o);
    for (const o of this.objects.of(kind).values()) if (visible(o)) out.push(o);
    return out;
  }

  get(kind: ObjectKind, workspace: string, id: string): ControlObject | undefined {
    return this.configObject(kind, workspace, id) ?? this.objects.get(kind, objectKey(kind, workspace, id)) ?? this.objects.get(kind, objectKey(kind, GLOBAL_WORKSPACE, id));
  }

  async workspacesUpdatedSince(kind: ObjectKind, sinceMs: number): Promise<Set<string>> {
    const table = this.table;
    return new Set(table && STORED_ONLY_KINDS.has(kind) ? await table.workspacesUpdatedSince(kind, sinceMs) : []);
  }

  onStoredWrite(kind: ObjectKind, listener: (workspace: string) => void): () => void {
    const entry = { kind, listener };
    this.storedWriteListeners.add(entry);
    return () => this.storedWriteListeners.delete(entry);
  }

  private storedWritten(kind: ObjectKind, workspace: string): void {
    for (const entry of this.storedWriteListeners) if (entry.kind === kind) entry.listener(workspace);
  }

  async fetch(kind: ObjectKind, workspace: string, ids: readonly string[]): Promise<Map<string, ControlObject>> {
    const out = new Map<string, ControlObject>();
    const wanted = [...new Set(ids)];
    for (const id of wanted) {
      const object = this.get(kind, workspace, id);
      if (object) out.set(id, object);
    }
    const table = this.table;
    if (!table || !STORED_ONLY_KINDS.has(kind)) return out;
    const missing = wanted.filter((id) => !out.has(id));
    for (let i = 0; i < missing.length; i += 1_000) {
      for (const row of await table.some(kind, workspace, missing.slice(i, i + 1_000))) {
        if (!row.deleted) out.set(row.id, { ...row.object, spec: this.openSecrets(kind, row.object.spec) });
      }
    }
    return out;
  }

  private configObject(kind: ObjectKind, workspace: string, id: string): ControlObject | undefined {
    for (const objects of this.declared.values()) {
      const found = objects.find((o) => o.kind === kind && o.id === id && (o.workspace === workspace || o.workspace === GLOBAL_WORKSPACE));
      if (found) return found;
    }
    return undefined;
  }

  write(change: ObjectWrite): Promise<ControlObject | undefined> {
    // One write per object at a time in this process (another daemon can still race: see README).
    const key = objectKey(change.kind, change.workspace, change.id);
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.lockedWrite(key, change));
    this.locks.set(key, run);
    void run.finally(() => {
      if (this.locks.get(key) === run) this.locks.delete(key);
    }).catch(() => undefined);
    return run;
  }

  private async lockedWrite(key: string, change: ObjectWrite): Promise<ControlObject | undefined> {
    const release = await this.lockObjects([key]);
    try {
      return await this.writeNow(change);
    } finally {
      await release();
    }
  }

  private async writeNow(change: ObjectWrite): Promise<ControlObject | undefined> {
    const table = this.table;
    if (!table) throw new ObjectWriteError(503, 'the control plane has no object store: configure a clickhouse exporter (service.control_plane.store)');
    if (this.configObject(change.kind, change.workspace, change.id)) {
      throw new ObjectWriteError(409, `${change.kind} "${change.id}" comes from pipelines.yaml and is read-only here; change it in the file`);
    }
    // The store's latest version, not only this process's (another daemon may have written it).
    const stored = await table.one(change.kind, change.workspace, change.id);
    if (stored) this.applyStored(stored, true);
    const current = stored && !stored.deleted ? stored.object : undefined;
    const currentVersion = stored?.version ?? 0;
    if (change.create && current) throw new ObjectWriteError(409, `${change.kind} "${change.id}" already exists`);
    if (!change.create && !current && (change.spec === null || change.ifMatch !== undefined)) throw new ObjectWriteError(404, `${change.kind} "${change.id}" not found`);
    if (change.ifMatch !== undefined && change.ifMatch !== current?.version) {
      throw new ObjectWriteError(412, `${change.kind} "${change.id}" is at version ${current?.version ?? 'none'}, not ${change.ifMatch} (If-Match): read it again`);
    }
    const at = this.now();
    const version = currentVersion + 1;
    const next: ControlObject | undefined =
      change.spec === null
        ? undefined
        : { kind: change.kind, workspace: change.workspace, id: change.id, version, createdAt: current?.createdAt ?? at, updatedAt: at, changedBy: change.changedBy, source: 'api', spec: change.spec };
    const sealedSpec = next ? this.sealSecrets(next.kind, next.spec) : {};
    await table.write(
      { kind: change.kind, workspace: change.workspace, id: change.id, version, createdAt: next?.createdAt ?? current?.createdAt ?? at, updatedAt: at, changedBy: change.changedBy, deleted: next === undefined, spec: sealedSpec },
      { action: next === undefined ? 'delete' : current ? 'update' : 'create', before: current ? this.sealSecrets(current.kind, current.spec) : undefined, after: next ? sealedSpec : undefined },
    );
    // A kind that is not held has nothing to update here, nor in the other daemons.
    if (STORED_ONLY_KINDS.has(change.kind)) this.storedWritten(change.kind, change.workspace);
    else {
      const key = objectKey(change.kind, change.workspace, change.id);
      if (next) this.objects.set(next);
      else this.objects.delete(change.kind, key, version);
      this.notify(change.kind);
      this.changes?.publish(change.kind);
    }
    return next;
  }

  async writeMany(kind: ObjectKind, workspace: string, changes: readonly { id: string; spec: ObjectSpec | null }[], changedBy: string): Promise<number> {
    const table = this.table;
    if (!table) throw new ObjectWriteError(503, 'the control plane has no object store: configure a clickhouse exporter (service.control_plane.store)');
    const ids = [...new Set(changes.map((c) => c.id))];
    for (const id of ids) {
      if (this.configObject(kind, workspace, id)) throw new ObjectWriteError(409, `${kind} "${id}" comes from pipelines.yaml and is read-only here; change it in the file`);
    }
    // Locked like single writes: each version is the stored one plus one, so two writers must not
    // read the same stored version at once.
    const release = await this.lockObjects(ids.map((id) => objectKey(kind, workspace, id)));
    try {
      return await this.writeManyLocked(table, kind, workspace, ids, changes, changedBy);
    } finally {
      await release();
    }
  }

  private async writeManyLocked(table: ObjectTable, kind: ObjectKind, workspace: string, ids: readonly string[], changes: readonly { id: string; spec: ObjectSpec | null }[], changedBy: string): Promise<number> {
    const current = new Map<string, StoredObject>();
    for (let i = 0; i < ids.length; i += 1_000) for (const row of await table.some(kind, workspace, ids.slice(i, i + 1_000))) current.set(row.id, row);
    const at = this.now();
    const writes: { row: ObjectRow; audit: AuditEntry }[] = [];
    const applied: { key: string; version: number; object: ControlObject | undefined }[] = [];
    const last = new Map(changes.map((c) => [c.id, c.spec]));
    for (const [id, spec] of last) {
      const stored = current.get(id);
      const before = stored && !stored.deleted ? stored.object : undefined;
      if (spec === null && !before) continue;
      const version = (stored?.version ?? 0) + 1;
      const createdAt = before?.createdAt ?? at;
      const sealed = spec === null ? {} : this.sealSecrets(kind, spec);
      writes.push({
        row: { kind, workspace, id, version, createdAt, updatedAt: at, changedBy, deleted: spec === null, spec: sealed },
        audit: { action: spec === null ? 'delete' : before ? 'update' : 'create', before: before ? this.sealSecrets(kind, before.spec) : undefined, after: spec === null ? undefined : sealed },
      });
      applied.push({ key: objectKey(kind, workspace, id), version, object: spec === null ? undefined : { kind, workspace, id, version, createdAt, updatedAt: at, changedBy, source: 'api', spec } });
    }
    await table.writeMany(writes);
    // A kind that is not held has nothing to update here, nor in the other daemons.
    if (STORED_ONLY_KINDS.has(kind)) {
      if (applied.length > 0) this.storedWritten(kind, workspace);
      return applied.length;
    }
    for (const { key, version, object } of applied) {
      if (object) this.objects.set(object);
      else this.objects.delete(kind, key, version);
    }
    if (applied.length > 0) {
      this.notify(kind);
      this.changes?.publish(kind);
    }
    return applied.length;
  }

  private sealSecrets(kind: ObjectKind, spec: ObjectSpec): ObjectSpec {
    const paths = SECRET_FIELDS[kind];
    if (!hasSecrets(spec, paths)) return spec;
    const box = this.box;
    if (!box) throw new ObjectWriteError(422, `this ${kind} holds secrets (${paths.map((p) => p.join('.')).join(', ')}); set service.control_plane.secrets_key (e.g. \${env:TRACEHOUSE_SECRETS_KEY}) to store them encrypted`);
    return mapSecrets(spec, paths, (v) => box.seal(v));
  }

  private openSecrets(kind: ObjectKind, spec: ObjectSpec): ObjectSpec {
    const paths = SECRET_FIELDS[kind];
    if (!hasSecrets(spec, paths)) return spec;
    const box = this.box;
    return mapSecrets(spec, paths, (v) => {
      if (!v.startsWith('enc:')) return v;
      if (!box) throw new SecretsKeyError('stored control-plane objects hold encrypted secrets: set service.control_plane.secrets_key to the key they were stored with');
      return box.open(v);
    });
  }

  private notify(kind: ObjectKind): void {
    const set = this.listeners.get(kind);
    if (!set || set.size === 0) return;
    const objects = this.list(kind);
    for (const listener of set) {
      try {
        listener(objects);
      } catch (err) {
        this.options.logger.error({ err: errorMessage(err), kind }, 'control plane: a component failed to apply a change');
      }
    }
  }
}
