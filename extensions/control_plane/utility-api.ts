/**
 * The log-evaluation API's utilities: `GET /api/verify` (is this key valid, and for which
 * workspace: `{workspaceName}`) and `GET /api/models` (the price catalog's models as
 * `[{label, value}]`, for pickers). Any valid key may call them.
 */
import type { ApiRoute } from '../../core/http-api';
import { builtInCatalog } from '../../core/pricing/pricing';
import type { ControlPlaneDeps } from './routes';
import { settingsOf } from './settings-api';

export const UTILITY_PATHS = ['/api/verify', '/api/models'] as const;

/** Every model id of the built-in price catalog, once each, sorted. */
function catalogModels(): { label: string; value: string }[] {
  const ids = [...new Set(builtInCatalog().catalog.models.map((m) => m.id))];
  ids.sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base', numeric: true }) || (a < b ? -1 : a > b ? 1 : 0));
  return ids.map((id) => ({ label: id, value: id }));
}

export function utilityRoutes({ host }: ControlPlaneDeps): ApiRoute[] {
  let models: { label: string; value: string }[] | undefined;
  return [
    {
      method: 'GET',
      path: '/api/verify',
      role: 'any',
      handle: ({ workspace }) => {
        const name = settingsOf(host.objects, workspace)?.spec.workspaceName;
        return { status: 200, body: { workspaceName: typeof name === 'string' ? name : workspace } };
      },
    },
    {
      method: 'GET',
      path: '/api/models',
      role: 'any',
      handle: () => ({ status: 200, body: (models ??= catalogModels()) }),
    },
  ];
}
