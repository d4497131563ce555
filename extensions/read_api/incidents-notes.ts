/**
 * Notes on incidents: control-plane objects of kind `incident_note` in the incident's workspace
 * (id: the note id, spec: {incidentId, text, author}), so they are stored beside the spans,
 * audited, and seen by every daemon on the same ClickHouse.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ObjectWriteError } from '../../core/control/catalog';
import type { ControlObjects } from '../../core/control/catalog';
import type { ControlObject } from '../../core/control/objects';
import { IngestError, parseBody } from '../../core/ingest/problems';

/** Notes one incident may hold: a note is context, not a chat log. */
export const MAX_NOTES_PER_INCIDENT = 500;

export const noteBodySchema = z.strictObject({
  text: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(10_000, 'must be at most 10000 characters'),
  /** Who wrote it, as people know them; the key's name when absent. */
  author: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
});

export interface NoteAnswer {
  note_id: string;
  incident_id: string;
  text: string;
  author: string;
  created_at: string;
  /** The key that wrote it ("key:<12 hex digits>"). */
  created_by: string;
}

function answerOf(object: ControlObject): NoteAnswer {
  return {
    note_id: object.id,
    incident_id: String(object.spec.incidentId),
    text: String(object.spec.text),
    author: String(object.spec.author),
    created_at: new Date(object.createdAt).toISOString(),
    created_by: object.changedBy,
  };
}

/** The incident's notes, oldest first. */
export function notesOf(objects: ControlObjects, workspace: string, incidentId: string): NoteAnswer[] {
  return objects
    .list('incident_note', workspace)
    .filter((o) => o.workspace === workspace && o.spec.incidentId === incidentId)
    .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
    .map(answerOf);
}

/**
 * The contract ("POST .../notes to add context") names no body field: `text` is ours, and the
 * common spellings `note`, `content`, `body` and `message` are taken as it (one of them at most).
 */
export const NOTE_TEXT_ALIASES = ['note', 'content', 'body', 'message'] as const;

/** The body with an alias of `text` renamed to `text`; 422 when more than one is sent. */
function withTextField(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const sent = ['text', ...NOTE_TEXT_ALIASES].filter((name) => name in body);
  if (sent.length > 1) {
    const message = `send the note once (as text; got ${sent.join(', ')})`;
    throw new IngestError(422, 'API_VALIDATION', `invalid body: ${sent[1]}: ${message}`, [{ path: [sent[1]], message, code: 'invalid_value' }]);
  }
  if (sent.length === 0 || sent[0] === 'text') return body;
  const { [sent[0]]: text, ...rest } = body as Record<string, unknown>;
  return { ...rest, text };
}

/** Stores a note (the body checked: 422 per field) and answers it. */
export async function addNote(objects: ControlObjects, workspace: string, incidentId: string, body: unknown, principal: string): Promise<NoteAnswer> {
  const note = parseBody(noteBodySchema, withTextField(body));
  if (notesOf(objects, workspace, incidentId).length >= MAX_NOTES_PER_INCIDENT) {
    throw new IngestError(409, 'API_CONFLICT', `this incident already has ${MAX_NOTES_PER_INCIDENT} notes, the most one may hold`);
  }
  const id = `note_${randomBytes(8).toString('hex')}`;
  try {
    const stored = await objects.write({
      kind: 'incident_note',
      workspace,
      id,
      spec: { incidentId, text: note.text, author: note.author ?? principal },
      changedBy: principal,
      create: true,
    });
    return answerOf(stored as ControlObject);
  } catch (err) {
    if (!(err instanceof ObjectWriteError)) throw err;
    const code = err.status === 503 ? 'API_NO_STORE' : err.status === 422 ? 'API_VALIDATION' : 'API_CONFLICT';
    throw new IngestError(err.status, code, err.message, undefined, err.status === 503 ? 5 : undefined);
  }
}
