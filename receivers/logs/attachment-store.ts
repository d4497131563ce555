import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { base64Of } from './attachment-body';

/** An attachment as the body gives it (already validated). */
export interface AttachmentInput {
  url?: string;
  upload?: string;
  name?: string;
  filename?: string;
  content_type?: string;
  mimeType?: string;
}

/** What the log records about an attachment (the `tracehouse.attachments` JSON array). */
export type AttachmentRecord =
  | { source: 'url'; url: string; name?: string; content_type?: string }
  | { source: 'upload'; ref: string; size_bytes: number; content_type: string; name?: string };

const DEFAULT_UPLOAD_TYPE = 'application/octet-stream';

/**
 * Uploaded files, content-addressed in one directory: the file name is the SHA-256 of the bytes,
 * so a resent log (or the same file in two logs) is stored once. Each file is written under a
 * temporary name, fsynced and renamed, then the directory is fsynced: once `store` resolves the
 * file survives a crash, which is what lets the log's answer imply durability.
 */
export class AttachmentStore {
  constructor(readonly dir: string) {}

  /** Stores every upload and returns the records, in the body's order. */
  async record(attachments: readonly AttachmentInput[]): Promise<AttachmentRecord[]> {
    const out: AttachmentRecord[] = [];
    for (const attachment of attachments) out.push(await this.recordOne(attachment));
    return out;
  }

  private async recordOne(attachment: AttachmentInput): Promise<AttachmentRecord> {
    const name = attachment.name ?? attachment.filename;
    const declaredType = attachment.content_type ?? attachment.mimeType;
    if (attachment.upload === undefined) {
      return { source: 'url', url: attachment.url ?? '', ...(name ? { name } : {}), ...(declaredType ? { content_type: declaredType } : {}) };
    }
    const { base64, dataUrlType } = base64Of(attachment.upload);
    const bytes = Buffer.from(base64, 'base64');
    const sha256 = await this.store(bytes);
    return {
      source: 'upload',
      ref: `sha256:${sha256}`,
      size_bytes: bytes.length,
      content_type: declaredType ?? dataUrlType ?? DEFAULT_UPLOAD_TYPE,
      ...(name ? { name } : {}),
    };
  }

  /** Writes `bytes` durably under their SHA-256 (hex), unless a complete copy is already there. */
  async store(bytes: Buffer): Promise<string> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const target = path.join(this.dir, sha256);
    await mkdir(this.dir, { recursive: true });
    if (await hasSize(target, bytes.length)) {
      // Present, but possibly only in the page cache if an earlier write crashed before its syncs.
      await fsyncPath(target);
    } else {
      const temp = path.join(this.dir, `.${sha256}.${randomUUID()}.tmp`);
      try {
        const file = await open(temp, 'wx');
        try {
          await file.writeFile(bytes);
          await file.sync();
        } finally {
          await file.close();
        }
        await rename(temp, target);
      } catch (err) {
        await rm(temp, { force: true });
        throw err;
      }
    }
    await fsyncPath(this.dir);
    return sha256;
  }
}

async function hasSize(file: string, size: number): Promise<boolean> {
  try {
    const info = await stat(file);
    return info.isFile() && info.size === size;
  } catch {
    return false;
  }
}

async function fsyncPath(target: string): Promise<void> {
  const handle = await open(target, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
