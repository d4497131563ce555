/**
 * The logs receiver's tombstone checks (receivers/logs/tombstones.ts): a workspace without recent
 * tombstones needs no read; checks that arrive while a read runs share the next read, found
 * tombstones are remembered (bounded, within the window), ids without one are asked again, and a
 * failed read rejects every check it carried.
 */
import type { ControlObject, ObjectKind } from '../../../core/control/objects';
import { REFRESH_MS, TombstoneChecker } from '../../../receivers/logs/tombstones';

function tombstone(workspace: string, id: string, updatedAt: number): ControlObject {
  return { kind: 'deleted_log', workspace, id, version: 1, createdAt: updatedAt, updatedAt, changedBy: 'key:test', source: 'api', spec: {} };
}

class FakeStore {
  readonly reads: { kind: ObjectKind; workspace: string; ids: string[] }[] = [];
  readonly stored = new Map<string, ControlObject>();
  fail = false;
  private gate: (() => void) | undefined;

  hold(): void {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    this.gate = open;
    this.gated = opened;
  }
  release(): void {
    this.gate?.();
    this.gate = undefined;
    this.gated = undefined;
  }
  private gated: Promise<void> | undefined;

  readonly workspaceReads: number[] = [];
  private listener: ((workspace: string) => void) | undefined;

  async workspacesUpdatedSince(kind: ObjectKind, sinceMs: number): Promise<Set<string>> {
    this.workspaceReads.push(sinceMs);
    if (this.fail) throw new Error('store away');
    return new Set([...this.stored.values()].filter((t) => t.kind === kind && t.updatedAt >= sinceMs).map((t) => t.workspace));
  }

  onStoredWrite(_kind: ObjectKind, listener: (workspace: string) => void): () => void {
    this.listener = listener;
    return () => (this.listener = undefined);
  }

  /** A tombstone written by this daemon (the read API's delete). */
  deleteHere(t: ControlObject): void {
    this.stored.set(`${t.workspace}/${t.id}`, t);
    this.listener?.(t.workspace);
  }

  async fetch(kind: ObjectKind, workspace: string, ids: readonly string[]): Promise<Map<string, ControlObject>> {
    this.reads.push({ kind, workspace, ids: [...ids] });
    await this.gated;
    if (this.fail) throw new Error('store away');
    const out = new Map<string, ControlObject>();
    for (const id of ids) {
      const found = this.stored.get(`${workspace}/${id}`);
      if (found) out.set(id, found);
    }
    return out;
  }
}

describe('logs receiver: tombstone checks', () => {
  it('answers from the store, batches the checks that wait, remembers only tombstones', async () => {
    const store = new FakeStore();
    let now = 1_000_000;
    const checker = new TombstoneChecker(() => store, 60_000, () => now, 2);
    store.stored.set('acme/gone-1', tombstone('acme', 'gone-1', now - 1_000));
    store.stored.set('acme/gone-2', tombstone('acme', 'gone-2', now - 1_000));
    store.stored.set('acme/gone-3', tombstone('acme', 'gone-3', now - 1_000));

    store.stored.set('beta/gone-9', tombstone('beta', 'gone-9', now - 1_000));
    expect(await checker.lookup('acme', 'warm')).toBeUndefined();
    store.hold();
    const first = checker.lookup('acme', 'live-1');
    // These wait for the read in flight, then go in one read per workspace; `other` has no
    // tombstone inside the window, so its check needs no read at all.
    const waiting = [checker.lookup('acme', 'gone-1'), checker.lookup('acme', 'live-2'), checker.lookup('beta', 'gone-9'), checker.lookup('other', 'gone-1')];
    await new Promise((resolve) => setImmediate(resolve));
    store.release();
    expect(await first).toBeUndefined();
    expect(await Promise.all(waiting)).toEqual([{ updatedAt: now - 1_000 }, undefined, { updatedAt: now - 1_000 }, undefined]);
    expect(store.reads.map((r) => [r.workspace, r.ids])).toEqual([
      ['acme', ['warm']],
      ['acme', ['live-1']],
      ['acme', ['gone-1', 'live-2']],
      ['beta', ['gone-9']],
    ]);
    expect(store.workspaceReads).toHaveLength(1);
    expect(store.reads.every((r) => r.kind === 'deleted_log')).toBe(true);

    // A found tombstone is not read again; an id without one is (another instance may delete it).
    const reads = store.reads.length;
    expect(await checker.lookup('acme', 'gone-1')).toEqual({ updatedAt: now - 1_000 });
    expect(store.reads.length).toBe(reads);
    expect(await checker.lookup('acme', 'live-2')).toBeUndefined();
    expect(store.reads.length).toBe(reads + 1);

    // Bounded: the oldest remembered tombstone goes first.
    await checker.lookup('acme', 'gone-2');
    await checker.lookup('acme', 'gone-3');
    expect(checker.cached).toBe(2);
    // Past the window a tombstone is read again (and no longer remembered).
    now += 60_000;
    expect(await checker.lookup('acme', 'gone-3')).toEqual({ updatedAt: now - 61_000 });
    expect(store.reads.at(-1)?.ids).toEqual(['gone-3']);
  });

  it('a delete made here counts at once, one made elsewhere once the workspaces are read again', async () => {
    const store = new FakeStore();
    let now = 5_000_000;
    const checker = new TombstoneChecker(() => store, 60_000, () => now);
    expect(await checker.lookup('acme', 'a')).toBeUndefined();
    expect(store.reads).toHaveLength(0);
    store.deleteHere(tombstone('acme', 'a', now));
    expect(await checker.lookup('acme', 'a')).toEqual({ updatedAt: now });
    // Another instance deletes in `beta`: seen once the set is read again (REFRESH_MS).
    store.stored.set('beta/b', tombstone('beta', 'b', now));
    expect(await checker.lookup('beta', 'b')).toBeUndefined();
    now += REFRESH_MS;
    await checker.lookup('beta', 'b'); // starts the read again
    await new Promise((resolve) => setImmediate(resolve));
    expect(await checker.lookup('beta', 'b')).toEqual({ updatedAt: now - REFRESH_MS });
  });

  it('rejects the checks of a failed read, then reads again', async () => {
    const store = new FakeStore();
    const checker = new TombstoneChecker(() => store, 60_000);
    store.fail = true;
    await expect(checker.lookup('acme', 'x')).rejects.toThrow('store away');
    store.fail = false;
    expect(await checker.lookup('acme', 'x')).toBeUndefined();
  });

  it('finds nothing without a host', async () => {
    const checker = new TombstoneChecker(() => undefined, 60_000);
    expect(await checker.lookup('acme', 'x')).toBeUndefined();
  });
});
