/**
 * Spool files for the embedded engine's binary inserts. chdb takes binary formats only from a file
 * (its inline-data entry ends the data at the first blank line, which Native blocks contain), so
 * each insert's block is written to a file of its own in a per-process directory, read by
 * `INSERT … FROM INFILE`, and removed when the insert settles. The directory is removed at
 * close; directories left by a process that died are removed by the next one to start.
 *
 * A spool that cannot be written (a full or missing tmpfs) answers undefined, and the caller falls
 * back to sending the block inline: logged once when it starts and once when it recovers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../../core/errors';
import type { Logger } from '../../core/logger';

const PREFIX = 'tracehouse-spool-';
const OWNED = /^tracehouse-spool-(\d+)-/;

export class Spool {
  private dir: string | undefined;
  private sequence = 0;
  private failing = false;
  private orphansChecked = false;

  constructor(
    private readonly parent: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Writes one block from its pieces (writev: no joined copy); the path of its file, or undefined
   * when the spool cannot take it (a short write, as on a full tmpfs, counts as failing).
   */
  write(block: readonly Buffer[]): string | undefined {
    let file: string | undefined;
    try {
      file = path.join(this.ownDir(), `${++this.sequence}.bin`);
      writeAll(file, block);
      if (this.failing) {
        this.failing = false;
        this.logger.info({ spool_dir: this.parent }, 'spool directory writable again; inserts use Native blocks again');
      }
      return file;
    } catch (err) {
      if (file !== undefined) this.remove(file);
      if (!this.failing) {
        this.failing = true;
        this.logger.warn(
          { spool_dir: this.parent, err: errorMessage(err) },
          'cannot write insert spool files; inserting the blocks inline instead (slower, same rows)',
        );
      }
      return undefined;
    }
  }

  remove(file: string): void {
    fs.rmSync(file, { force: true });
  }

  close(): void {
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  private ownDir(): string {
    if (this.dir && fs.existsSync(this.dir)) return this.dir;
    if (!this.orphansChecked) {
      this.orphansChecked = true;
      removeOrphans(this.parent, this.logger);
    }
    this.dir = fs.mkdtempSync(path.join(this.parent, `${PREFIX}${process.pid}-`));
    return this.dir;
  }
}

function writeAll(file: string, pieces: readonly Buffer[]): void {
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    let expected = 0;
    for (const piece of pieces) expected += piece.length;
    const written = fs.writevSync(fd, pieces as Buffer[]);
    if (written !== expected) throw new Error(`short write: ${written} of ${expected} bytes`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Spool directories of processes that no longer run (killed mid-insert), with their files. */
export function removeOrphans(parent: string, logger: Logger): void {
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(OWNED.exec(name)?.[1]);
    if (!pid || pid === process.pid || isRunning(pid)) continue;
    fs.rmSync(path.join(parent, name), { recursive: true, force: true });
    logger.info({ dir: path.join(parent, name) }, 'removed the insert spool of a process that is gone');
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
