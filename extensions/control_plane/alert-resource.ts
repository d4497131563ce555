/**
 * One workspace-scoped resource of the self-hosted contract (`/v1/workspaces/:id/<name>`): list
 * (page, limit, sort, filters, Link), create, get, replace (PUT) and delete, with the key's own
 * workspace only (403), ETag and If-Match (412), 422 per failing field, 404 for unknown ids and
 * 409 for objects that come from pipelines.yaml. Alert rules and delivery targets are two of them.
 */
import type { ControlObjects } from '../../core/control/catalog';
import { applyAliases, deprecationHeaders } from '../../core/deprecation';
import type { DeprecatedAlias } from '../../core/deprecation';
import type { ControlObject, ObjectKind, ObjectSpec } from '../../core/control/objects';
import type { ApiRequest, ApiRoute } from '../../core/http-api';
import { notFound } from '../../core/http-api';
import { IngestError } from '../../core/ingest/problems';
import { listPage, parseListQuery } from '../../core/http-list';
import type { ListOptions } from '../../core/http-list';
import { etagHeader, ifMatchOf, maskedSpec, newId, ownWorkspace, writeObject } from './objects-http';

export interface WorkspaceResource {
  kind: ObjectKind;
  /** e.g. "/v1/workspaces/:id/alert-rules". */
  base: string;
  /** The path parameter naming one object, e.g. "ruleId". */
  param: string;
  idPrefix: string;
  /** What errors call one object, e.g. "alert rule". */
  label: string;
  list: ListOptions;
  /** The spec to store for a request body (throws 422); `current` on PUT. */
  parse(body: unknown, workspace: string, current?: ControlObject): ObjectSpec;
  /** Refuses (throws) deleting an object others still need. */
  checkDelete?(object: ControlObject, workspace: string): void;
  /** Names still accepted for compatibility (answered with a Deprecation header): body fields and list query parameters. */
  deprecated?: { body?: readonly DeprecatedAlias[]; query?: readonly DeprecatedAlias[] };
}

/** The value with the resource's deprecated aliases renamed; an alias sent beside its current name is 422. */
function withoutAliases<T>(value: T, aliases: readonly DeprecatedAlias[] | undefined, where: 'body' | 'query'): { value: T; used: DeprecatedAlias[] } {
  const applied = applyAliases(value, aliases ?? []);
  if (applied.problems.length > 0) {
    throw new IngestError(422, where === 'body' ? 'RCV_VALIDATION' : 'API_VALIDATION', `invalid ${where === 'body' ? 'request body' : 'query'}: ${applied.problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`, applied.problems);
  }
  return { value: applied.value, used: applied.used };
}

/** An object as the contract answers it: its id, its spec (secrets masked) and snake_case metadata. */
export function resourceAnswer(object: ControlObject): Record<string, unknown> {
  return {
    id: object.id,
    ...maskedSpec(object.kind, object.spec),
    source: object.source,
    version: object.version,
    created_at: new Date(object.createdAt).toISOString(),
    updated_at: new Date(object.updatedAt).toISOString(),
    updated_by: object.changedBy,
  };
}

/** The object a request names in the caller's workspace (its own or a config one), else 404. */
export function findIn(objects: ControlObjects, resource: WorkspaceResource, request: ApiRequest): ControlObject {
  const workspace = ownWorkspace(request.params, request.workspace);
  const id = request.params[resource.param];
  const object = objects.get(resource.kind, workspace, id);
  if (!object) throw notFound(`${resource.label} "${id.slice(0, 100)}"`);
  return object;
}

export function resourceRoutes(objects: ControlObjects, resource: WorkspaceResource): ApiRoute[] {
  const one = `${resource.base}/:${resource.param}`;
  return [
    {
      method: 'GET',
      path: resource.base,
      role: 'read',
      handle: ({ params, workspace, query, path }) => {
        const ws = ownWorkspace(params, workspace);
        const current = withoutAliases(query, resource.deprecated?.query, 'query');
        const list = parseListQuery(current.value, resource.list);
        // Links name the current parameters.
        const page = listPage(objects.list(resource.kind, ws).map(resourceAnswer), list, path, current.value);
        return { status: 200, body: page.body, headers: { ...page.headers, ...deprecationHeaders(current.used) } };
      },
    },
    {
      method: 'POST',
      path: resource.base,
      role: 'admin',
      handle: async ({ params, workspace, principal, body, path }) => {
        const ws = ownWorkspace(params, workspace);
        const current = withoutAliases(body, resource.deprecated?.body, 'body');
        const spec = resource.parse(current.value, ws);
        const id = newId(resource.idPrefix);
        const created = (await writeObject(objects, { kind: resource.kind, workspace: ws, id, spec, changedBy: principal, create: true })) as ControlObject;
        return { status: 201, body: resourceAnswer(created), headers: { ...etagHeader(created), Location: `${path}/${id}`, ...deprecationHeaders(current.used) } };
      },
    },
    {
      method: 'GET',
      path: one,
      role: 'read',
      handle: (request) => {
        const object = findIn(objects, resource, request);
        return { status: 200, body: resourceAnswer(object), headers: etagHeader(object) };
      },
    },
    {
      method: 'PUT',
      path: one,
      role: 'admin',
      handle: async (request) => {
        const current = findIn(objects, resource, request);
        const ifMatch = ifMatchOf(request.headers);
        const sent = withoutAliases(request.body, resource.deprecated?.body, 'body');
        // A config object answers 409 (read-only) whatever the body says.
        const spec = current.source === 'config' ? current.spec : resource.parse(sent.value, request.workspace, current);
        const updated = (await writeObject(objects, { kind: resource.kind, workspace: request.workspace, id: current.id, spec, changedBy: request.principal, ifMatch: ifMatch ?? current.version })) as ControlObject;
        return { status: 200, body: resourceAnswer(updated), headers: { ...etagHeader(updated), ...deprecationHeaders(sent.used) } };
      },
    },
    {
      method: 'DELETE',
      path: one,
      role: 'admin',
      handle: async (request) => {
        const current = findIn(objects, resource, request);
        const ifMatch = ifMatchOf(request.headers);
        if (current.source === 'api') resource.checkDelete?.(current, request.workspace);
        await writeObject(objects, { kind: resource.kind, workspace: request.workspace, id: current.id, spec: null, changedBy: request.principal, ifMatch });
        return { status: 204 };
      },
    },
  ];
}
