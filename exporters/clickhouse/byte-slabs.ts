/**
 * Reused memory for the exporter's encoded calls. A call's Native columns wait in the queue until
 * their insert settles; a Buffer of their own per call made V8 count every encoded byte as new
 * external memory, and every 64 MB of that starts a full garbage collection (one or two a second
 * under load, each marking the whole heap). Calls are copied into a few large slabs instead, and a
 * slab is written again once every call in it has been released.
 *
 * A region must not be read after its release; the exporter releases a call's region when the
 * insert that holds it has settled (stored, or failed for good). A region never released only keeps
 * its slab from being reused: the slab is then collected like any other buffer.
 */

export interface SlabRegion {
  bytes: Buffer;
  /** Gives the memory back; calls after the first do nothing. */
  release: () => void;
}

interface Slab {
  buf: Buffer;
  used: number;
  live: number;
}

const NOTHING = () => {};

export class ByteSlabs {
  private current: Slab | undefined;
  private readonly spare: Slab[] = [];

  constructor(
    private readonly slabBytes = 4 * 1024 * 1024,
    /** Emptied slabs kept for reuse; the queue's inserts in flight need two or three. */
    private readonly keepSpare = 2,
  ) {}

  /** A copy of `bytes` in a slab (in a buffer of its own when larger than a quarter slab). */
  copy(bytes: Buffer): SlabRegion {
    if (bytes.length > this.slabBytes / 4) return { bytes: Buffer.from(bytes), release: NOTHING };
    let slab = this.current;
    if (slab === undefined || slab.used + bytes.length > slab.buf.length) {
      if (slab !== undefined && slab.live === 0) this.recycle(slab);
      slab = this.spare.pop() ?? { buf: Buffer.allocUnsafeSlow(this.slabBytes), used: 0, live: 0 };
      slab.used = 0;
      this.current = slab;
    }
    const at = slab.used;
    bytes.copy(slab.buf, at);
    slab.used += bytes.length;
    slab.live++;
    const owner = slab;
    let released = false;
    return {
      bytes: slab.buf.subarray(at, at + bytes.length),
      release: () => {
        if (released) return;
        released = true;
        owner.live--;
        if (owner.live > 0) return;
        if (owner === this.current) owner.used = 0;
        else this.recycle(owner);
      },
    };
  }

  private recycle(slab: Slab): void {
    if (this.spare.length < this.keepSpare) this.spare.push(slab);
  }
}
