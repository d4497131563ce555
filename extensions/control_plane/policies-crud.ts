/**
 * The five routes of a workspace-scoped collection of the self-hosted contract
 * (`/v1/workspaces/:id/<collection>`): list (paged, sorted, filtered), create, get, replace (PUT)
 * and delete. `:id` must be the key's workspace (403 otherwise, no hint); reads need `read`,
 * writes `admin`; every object answer carries an ETag and writes honour If-Match (412); objects
 * declared in pipelines.yaml are listed and read but changing them answers 409.
 */
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { ControlObjects } from '../../core/control/catalog';
import type { ControlObject, ObjectKind, ObjectSpec } from '../../core/control/objects';
import type { ApiRoute } from '../../core/http-api';
import { notFound } from '../../core/http-api';
import { listPage, parseListQuery } from '../../core/http-list';
import type { ListOptions } from '../../core/http-list';
import { IngestError, parseBody } from '../../core/ingest/problems';
import { etagHeader, ifMatchOf, ownWorkspace, writeObject } from './objects-http';

export interface WorkspaceCollection<S extends z.ZodType> {
  kind: ObjectKind;
  /** The collection's path segment, e.g. "failover-policies". */
  collection: string;
  /** What the objects are called in messages, e.g. "failover policy". */
  noun: string;
  /** Prefix of new ids ("failover" makes "failover-<16 hex>"). */
  idPrefix: string;
  /** The body of POST and PUT. */
  schema: S;
  /** The answer for one object. */
  answer(object: ControlObject): Record<string, unknown>;
  /** The flat fields lists sort and filter on (besides id, created_at, updated_at, source). */
  listFields(object: ControlObject): Record<string, unknown>;
  list: Pick<ListOptions, 'sortable' | 'filterable'>;
  /** A refusal (thrown) of a write the body schema cannot judge alone, e.g. a conflict with another object. */
  checkWrite?(spec: z.output<S>, context: { objects: ControlObjects; workspace: string; id: string }): void;
}

/** The metadata every object answer of the self-hosted contract carries. */
export function contractMeta(object: ControlObject): Record<string, unknown> {
  return {
    created_at: new Date(object.createdAt).toISOString(),
    updated_at: new Date(object.updatedAt).toISOString(),
    updated_by: object.changedBy,
    version: object.version,
    source: object.source,
  };
}

export function collectionPaths(collection: string): string[] {
  return [`/v1/workspaces/:id/${collection}`, `/v1/workspaces/:id/${collection}/:objectId`];
}

export function workspaceCollectionRoutes<S extends z.ZodType>(objects: ControlObjects, c: WorkspaceCollection<S>): ApiRoute[] {
  const [listPath, onePath] = collectionPaths(c.collection);
  const listOptions: ListOptions = {
    sortable: ['created_at', 'updated_at', 'id', ...c.list.sortable],
    // Every list of the contract: newest first unless ?sort= says otherwise.
    defaultSort: { field: 'created_at', direction: 'desc' },
    filterable: ['source', ...c.list.filterable],
    clampLimit: true,
  };
  const find = (workspace: string, id: string): ControlObject => {
    const object = objects.get(c.kind, workspace, id);
    if (!object) throw notFound(`${c.noun} "${id.slice(0, 100)}"`);
    return object;
  };
  const refuseConfig = (object: ControlObject) => {
    if (object.source === 'config') throw new IngestError(409, 'API_CONFLICT', `${c.noun} "${object.id}" comes from pipelines.yaml and is read-only here; change it in the file`);
  };
  const location = (workspace: string, id: string) => `/v1/workspaces/${encodeURIComponent(workspace)}/${c.collection}/${encodeURIComponent(id)}`;
  return [
    {
      method: 'GET',
      path: listPath,
      role: 'read',
      handle: ({ params, workspace, query, path }) => {
        ownWorkspace(params, workspace);
        const list = parseListQuery(query, listOptions);
        const rows = objects
          .list(c.kind, workspace)
          .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
          .map((object) => ({ ...c.listFields(object), id: object.id, source: object.source, created_at: object.createdAt, updated_at: object.updatedAt, object }));
        const page = listPage(rows, list, path, query);
        return { status: 200, body: { ...page.body, data: page.body.data.map((row) => c.answer(row.object)) }, headers: page.headers };
      },
    },
    {
      method: 'POST',
      path: listPath,
      role: 'admin',
      handle: async ({ params, workspace, principal, body }) => {
        ownWorkspace(params, workspace);
        const spec = parseBody(c.schema, body);
        const id = `${c.idPrefix}-${randomBytes(8).toString('hex')}`;
        c.checkWrite?.(spec, { objects, workspace, id });
        const created = (await writeObject(objects, { kind: c.kind, workspace, id, spec: spec as ObjectSpec, changedBy: principal, create: true })) as ControlObject;
        return { status: 201, body: c.answer(created), headers: { ...etagHeader(created), Location: location(workspace, id) } };
      },
    },
    {
      method: 'GET',
      path: onePath,
      role: 'read',
      handle: ({ params, workspace }) => {
        ownWorkspace(params, workspace);
        const object = find(workspace, params.objectId);
        return { status: 200, body: c.answer(object), headers: etagHeader(object) };
      },
    },
    {
      method: 'PUT',
      path: onePath,
      role: 'admin',
      handle: async ({ params, workspace, principal, body, headers }) => {
        ownWorkspace(params, workspace);
        const ifMatch = ifMatchOf(headers);
        const current = find(workspace, params.objectId);
        refuseConfig(current);
        const spec = parseBody(c.schema, body);
        c.checkWrite?.(spec, { objects, workspace, id: current.id });
        const updated = (await writeObject(objects, { kind: c.kind, workspace, id: current.id, spec: spec as ObjectSpec, changedBy: principal, ifMatch: ifMatch ?? current.version })) as ControlObject;
        return { status: 200, body: c.answer(updated), headers: etagHeader(updated) };
      },
    },
    {
      method: 'DELETE',
      path: onePath,
      role: 'admin',
      handle: async ({ params, workspace, principal, headers }) => {
        ownWorkspace(params, workspace);
        const ifMatch = ifMatchOf(headers);
        const current = find(workspace, params.objectId);
        refuseConfig(current);
        await writeObject(objects, { kind: c.kind, workspace, id: current.id, spec: null, changedBy: principal, ifMatch });
        return { status: 204 };
      },
    },
  ];
}
