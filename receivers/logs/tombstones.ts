/**
 * The `deleted_log` tombstones the logs receiver checks before storing a log with a client id.
 * Tombstones are not held in memory by the control-plane catalog (one per deleted log: see
 * STORED_ONLY_KINDS). Most workspaces have deleted nothing lately, so the checker first keeps the
 * set of workspaces holding a tombstone inside the window (one read every REFRESH_MS, plus every
 * delete this daemon makes, at once): a log of any other workspace needs no read. For a workspace
 * in that set, each check reads the objects table by its ordering key: the checks that arrive
 * while one read runs wait for the next one, which asks for all of them at once (at most one read
 * in flight per receiver). A tombstone found is remembered (a small bounded cache, until it leaves
 * the idempotency window); an id without one is not, so a delete made on another instance is seen
 * by the next check once its workspace is in the set (within REFRESH_MS).
 */
import type { ControlObject, ObjectKind } from '../../core/control/objects';

/** What the checker needs of the host's control-plane objects. */
export interface TombstoneSource {
  fetch(kind: ObjectKind, workspace: string, ids: readonly string[]): Promise<Map<string, ControlObject>>;
  workspacesUpdatedSince(kind: ObjectKind, sinceMs: number): Promise<Set<string>>;
  onStoredWrite(kind: ObjectKind, listener: (workspace: string) => void): () => void;
}

/** How often the set of workspaces with recent tombstones is read again (the control plane's refresh). */
export const REFRESH_MS = 2_000;
/** A set this old is not trusted: every check reads by id until a refresh succeeds. */
const STALE_MS = 5 * REFRESH_MS;

/** The deleted_log tombstone of a log id, if any. */
export type TombstoneLookup = (workspace: string, id: string) => Promise<{ updatedAt: number } | undefined>;

/** Tombstones remembered at most (the oldest go first). */
export const TOMBSTONE_CACHE_SIZE = 10_000;
/** Ids asked for in one read at most (the rest wait for the next). */
const MAX_IDS_PER_READ = 1_000;

interface Waiting {
  workspace: string;
  id: string;
  resolve(found: { updatedAt: number } | undefined): void;
  reject(err: unknown): void;
}

export class TombstoneChecker {
  /** Tombstones found, by workspace + id: when they were written. */
  private readonly found = new Map<string, number>();
  private queue: Waiting[] = [];
  private reading = false;
  /** Workspaces with a tombstone inside the window, as of `recentAt`. */
  private recent: Set<string> | undefined;
  private recentAt = 0;
  private loading: Promise<void> | undefined;
  private watched: TombstoneSource | undefined;
  /** Workspaces this daemon wrote a tombstone in, and when: in the set whatever a read saw. */
  private readonly localWrites = new Map<string, number>();

  constructor(
    private readonly source: () => TombstoneSource | undefined,
    /** How long a tombstone counts (the idempotency window); older ones are not remembered. */
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    private readonly cacheSize = TOMBSTONE_CACHE_SIZE,
  ) {}

  /** The tombstone of `id` in `workspace` (any age), or undefined; rejects when the store cannot be read. */
  readonly lookup: TombstoneLookup = async (workspace, id) => {
    const at = this.found.get(cacheKey(workspace, id));
    if (at !== undefined && this.now() - at < this.windowMs) return { updatedAt: at };
    const source = this.source();
    if (!source) return undefined;
    if (!(await this.mayHaveTombstones(source, workspace))) return undefined;
    return new Promise((resolve, reject) => {
      this.queue.push({ workspace, id, resolve, reject });
      if (!this.reading) void this.drain();
    });
  };

  /** False only when the workspace surely has no tombstone inside the window. */
  private async mayHaveTombstones(source: TombstoneSource, workspace: string): Promise<boolean> {
    if (this.watched !== source) {
      this.watched = source;
      source.onStoredWrite('deleted_log', (written) => {
        this.localWrites.set(written, this.now());
        this.recent?.add(written);
      });
    }
    const age = this.now() - this.recentAt;
    if (this.recent === undefined) {
      await this.refresh(source);
    } else if (age >= REFRESH_MS && !this.loading) {
      void this.refresh(source).catch(() => undefined);
    }
    if (this.recent === undefined || this.now() - this.recentAt >= STALE_MS) return true;
    return this.recent.has(workspace);
  }

  private refresh(source: TombstoneSource): Promise<void> {
    this.loading ??= (async () => {
      const startedAt = this.now();
      try {
        const workspaces = await source.workspacesUpdatedSince('deleted_log', startedAt - this.windowMs);
        for (const [workspace, writtenAt] of this.localWrites) {
          if (this.now() - writtenAt >= this.windowMs) this.localWrites.delete(workspace);
          else workspaces.add(workspace);
        }
        this.recent = workspaces;
        this.recentAt = startedAt;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  /** Tombstones remembered now (tests). */
  get cached(): number {
    return this.found.size;
  }

  private async drain(): Promise<void> {
    this.reading = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, MAX_IDS_PER_READ);
        this.queue = this.queue.slice(batch.length);
        await this.read(batch);
      }
    } finally {
      this.reading = false;
    }
  }

  private async read(batch: readonly Waiting[]): Promise<void> {
    const source = this.source();
    const byWorkspace = new Map<string, Waiting[]>();
    for (const w of batch) {
      let list = byWorkspace.get(w.workspace);
      if (!list) byWorkspace.set(w.workspace, (list = []));
      list.push(w);
    }
    for (const [workspace, waiting] of byWorkspace) {
      try {
        const tombstones = source ? await source.fetch('deleted_log', workspace, waiting.map((w) => w.id)) : new Map<string, ControlObject>();
        for (const w of waiting) {
          const tombstone = tombstones.get(w.id);
          if (tombstone) this.remember(workspace, w.id, tombstone.updatedAt);
          w.resolve(tombstone ? { updatedAt: tombstone.updatedAt } : undefined);
        }
      } catch (err) {
        for (const w of waiting) w.reject(err);
      }
    }
  }

  private remember(workspace: string, id: string, updatedAt: number): void {
    if (this.now() - updatedAt >= this.windowMs) return;
    const key = cacheKey(workspace, id);
    this.found.delete(key);
    this.found.set(key, updatedAt);
    while (this.found.size > this.cacheSize) {
      const oldest = this.found.keys().next().value;
      if (oldest === undefined) break;
      this.found.delete(oldest);
    }
  }
}

function cacheKey(workspace: string, id: string): string {
  return `${workspace}\u0000${id}`;
}
