/**
 * How an alert rule names its delivery targets: by id (`dlv_…` for targets created over HTTP,
 * the key under `targets:` for those of pipelines.yaml) or by name, so that a client can write
 * the contract's `delivery_targets: ["slack-devops"]` for a target it created as "Slack DevOps".
 * Tried in order: the id; the exact name; the name compared as a slug (case, spaces and
 * punctuation ignored). A name two targets share is ambiguous, never guessed.
 */
import type { ControlObjects } from '../control/catalog';

/** "Slack DevOps" and "slack-devops" alike: lower case, every run of other characters one "-". */
export function nameSlug(name: string): string {
  let out = '';
  let gap = false;
  for (const ch of name.toLowerCase()) {
    if (/[\p{L}\p{N}]/u.test(ch)) {
      if (gap && out !== '') out += '-';
      out += ch;
      gap = false;
    } else gap = true;
  }
  return out;
}

export type TargetRefResult = { id: string } | { problem: string };

/** The id of the delivery target `ref` names in the workspace, or why it names none. */
export function resolveTargetRef(objects: ControlObjects, workspace: string, ref: string): TargetRefResult {
  if (objects.get('delivery_target', workspace, ref)) return { id: ref };
  const visible = objects.list('delivery_target', workspace);
  const nameOf = (spec: Record<string, unknown>) => (typeof spec.name === 'string' ? spec.name : '');
  const slug = nameSlug(ref);
  for (const matches of [(name: string) => name === ref, (name: string) => slug !== '' && nameSlug(name) === slug]) {
    const found = visible.filter((o) => matches(nameOf(o.spec)));
    if (found.length === 1) return { id: found[0].id };
    if (found.length > 1) return { problem: `names ${found.length} delivery targets (${found.map((o) => o.id).join(', ')}): use the id of one` };
  }
  return { problem: `no delivery target of this workspace has the id or name ${JSON.stringify(ref.slice(0, 100))}` };
}
