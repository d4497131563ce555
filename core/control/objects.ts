/**
 * Control-plane objects: what operators manage over HTTP (rules, alert rules, delivery targets,
 * guardrail and failover policies, settings, API keys) besides what `pipelines.yaml` declares.
 * Every object belongs to a workspace (GLOBAL_WORKSPACE: every workspace), has an id and a
 * version that grows by one per change, and records who changed it last (a key's digest prefix,
 * never the key). The spec is the kind's own JSON document.
 */

export const OBJECT_KINDS = [
  'rule',
  'alert_rule',
  'delivery_target',
  'policy',
  'failover_policy',
  'settings',
  'api_key',
  'project',
  'task',
  /** A reviewer's decision on a log (id: the log id); the latest version wins. */
  'decision',
  /** A deleted log (id: the log id): a replay of the same id within the idempotency window stays deleted. */
  'deleted_log',
  /** A note on an incident (id: the note id; spec.incidentId names the incident). */
  'incident_note',
  /** The result of re-evaluating a stored trace (id: the trace id); each run is a new version. */
  'verification',
] as const;
export type ObjectKind = (typeof OBJECT_KINDS)[number];

/**
 * Kinds the catalog does not hold in memory: one object per log (or per verified trace), so their
 * number grows with the data, not with what operators configure. They live in the same versioned store and are read on
 * demand (`ControlObjects.fetch`, or SQL against the objects table); `get`, `list` and `watch`
 * see only the ones pipelines.yaml declares (none today).
 */
export const STORED_ONLY_KINDS: ReadonlySet<ObjectKind> = new Set<ObjectKind>(['decision', 'deleted_log', 'verification']);

/** The workspace of objects that apply to every workspace (global rules of pipelines.yaml). */
export const GLOBAL_WORKSPACE = '*';

export type ObjectSpec = Record<string, unknown>;

export interface ControlObject<S extends ObjectSpec = ObjectSpec> {
  kind: ObjectKind;
  workspace: string;
  id: string;
  /** 1 for a new object, +1 per change; the ETag. */
  version: number;
  /** Milliseconds since the epoch. */
  createdAt: number;
  updatedAt: number;
  /** Who changed it last: "key:<12 hex digits>", "config", or "system". */
  changedBy: string;
  /** "config": declared in pipelines.yaml, read-only through the API. */
  source: 'api' | 'config';
  spec: S;
}

/** The key of an object in maps. */
export function objectKey(kind: ObjectKind, workspace: string, id: string): string {
  return `${kind}\u0000${workspace}\u0000${id}`;
}

/** The ETag of a version (a strong validator). */
export function etagOf(version: number): string {
  return `"${version}"`;
}
