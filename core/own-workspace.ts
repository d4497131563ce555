/**
 * The workspace a /v1/workspaces/:id/... route names must be the key's own: any other answers
 * 403, the same whether or not that workspace exists. Shared by the control plane and the read APIs.
 */
import { IngestError } from './ingest/problems';

export function ownWorkspace(params: Record<string, string>, workspace: string): string {
  if (params.id !== workspace) throw new IngestError(403, 'API_FORBIDDEN', 'this API key does not belong to that workspace');
  return workspace;
}
