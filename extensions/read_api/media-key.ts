/**
 * Media keys: `<workspaceId>/<logId>/<index>-<file name>` (each part percent-encoded), naming the
 * index-th attachment of a stored log. A key is only ever compared with what the log's stored
 * attachment metadata says; the file served is named by the SHA-256 recorded there, so no text of
 * a request ever becomes part of a file path.
 */
import { WORKSPACE_ID } from '../../core/workspaces';

export interface MediaKey {
  workspace: string;
  logId: string;
  /** Position in the log's `tracehouse.attachments`. */
  index: number;
  fileName: string;
}

const FILE_PART = /^(\d{1,4})-([A-Za-z0-9_][A-Za-z0-9._-]{0,99})$/;
// C0 controls, DEL, backslash: never part of a log id a key can name.
const FORBIDDEN = /[\u0000-\u001f\u007f\\]/;

/** The attachment's name reduced to letters, digits, ".", "_" and "-" (no leading dot), or "file". */
export function safeFileName(name: string | undefined): string {
  const base = (name ?? '').split(/[/\\]/).pop() ?? '';
  const cleaned = base.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._-]+/, '').slice(0, 100);
  return cleaned === '' ? 'file' : cleaned;
}

/** The media key of the `index`-th attachment (named `name`) of log `logId`. */
export function mediaKeyOf(workspace: string, logId: string, index: number, name: string | undefined): string {
  return `${encodeURIComponent(workspace)}/${encodeURIComponent(logId)}/${index}-${safeFileName(name)}`;
}

export function formatMediaKey(key: MediaKey): string {
  return `${encodeURIComponent(key.workspace)}/${encodeURIComponent(key.logId)}/${key.index}-${key.fileName}`;
}

/**
 * Reads a key as sent (percent-encoded, as in the URL path); undefined for anything malformed:
 * not three parts, empty, "." or ".." parts, undecodable escapes, control characters, backslashes.
 */
export function parseMediaKey(raw: string): MediaKey | undefined {
  if (raw.length === 0 || raw.length > 1024) return undefined;
  const parts = raw.split('/');
  if (parts.length !== 3) return undefined;
  const decoded: string[] = [];
  for (const part of parts) {
    let value: string;
    try {
      value = decodeURIComponent(part);
    } catch {
      return undefined;
    }
    if (value === '' || value === '.' || value === '..' || FORBIDDEN.test(value)) return undefined;
    decoded.push(value);
  }
  const [workspace, logId, file] = decoded;
  if (!WORKSPACE_ID.test(workspace) || logId.split('/').some((s) => s === '..' || s === '.')) return undefined;
  const m = FILE_PART.exec(file);
  if (!m) return undefined;
  return { workspace, logId, index: Number(m[1]), fileName: m[2] };
}
