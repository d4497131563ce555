/**
 * The log-evaluation API's rules (`/api/rules`): list, create, get, update, delete, and evaluate
 * one rule against an output without storing anything. Rules are stored as control-plane objects
 * of kind `rule` in the API's shape; evaluate_rules applies them (core/rules/api-rules.ts).
 */
import { z } from 'zod';
import { appliedRulesOf, verdictOf } from '../../core/evaluation';
import type { Finding } from '../../core/evaluation';
import type { ApiRoute } from '../../core/http-api';
import { notFound } from '../../core/http-api';
import { IngestError, parseBody } from '../../core/ingest/problems';
import { apiRuleFields, apiRuleSchema, apiRuleValueProblem } from '../../core/rules/api-rules';
import type { ApiRule } from '../../core/rules/api-rules';
import type { ControlObject } from '../../core/control/objects';
import { etagHeader, ifMatchOf, maskedSpec, newId, objectMeta, writeObject } from './objects-http';
import type { ControlPlaneDeps } from './routes';

export const RULES_PATHS = ['/api/rules', '/api/rules/evaluate', '/api/rules/:id'] as const;

const patchSchema = z.strictObject(Object.fromEntries(Object.entries(apiRuleFields).map(([k, v]) => [k, v.optional()])) as { [K in keyof typeof apiRuleFields]: z.ZodOptional<(typeof apiRuleFields)[K]> });

/** Fields a rule answer carries that a client does not set: a rule sent back as GET returned it is accepted without them. */
const READ_ONLY_RULE_FIELDS = ['id', 'source', 'version', 'createdAt', 'updatedAt', 'updatedBy'] as const;

function withoutReadOnly(rule: Record<string, unknown>): Record<string, unknown> {
  const out = { ...rule };
  for (const field of READ_ONLY_RULE_FIELDS) delete out[field];
  return out;
}

const evaluateSchema = z.strictObject({
  output: z.string().max(1_000_000),
  confidence: z.number().min(0).max(1).optional(),
  rule: z.union([z.record(z.string(), z.unknown()), z.string().min(1).max(200)]),
});

/** The judge's confidence when a judge decided (the least sure one when several did). */
function confidenceOf(findings: readonly Finding[]): number | undefined {
  const given = findings.map((f) => f.confidence).filter((c): c is number => c !== undefined);
  return given.length === 0 ? undefined : Math.min(...given);
}

function checkValue(rule: ApiRule): void {
  const problem = apiRuleValueProblem(rule.type, rule.value);
  if (problem) throw new IngestError(422, 'RCV_VALIDATION', `invalid request body: value: ${problem}`, [{ path: ['value'], message: problem, code: 'invalid_value' }]);
}

/** A rule as the API answers it: the document's fields (description "" when unset) plus id and metadata. */
function ruleAnswer(object: ControlObject): Record<string, unknown> {
  return { id: object.id, ...maskedSpec('rule', object.spec), description: object.spec.description ?? '', isActive: object.spec.isActive ?? true, ...objectMeta(object) };
}

/** A rule's projectId must name a project of the workspace (it is resolved to the project's names when spans are evaluated). */
function checkProject(objects: ControlPlaneDeps['host']['objects'], workspace: string, rule: ApiRule): void {
  if (rule.projectId === undefined) return;
  const project = objects.get('project', workspace, rule.projectId);
  if (project && project.workspace === workspace) return;
  const message = `no project of this workspace has the id ${JSON.stringify(rule.projectId.slice(0, 100))}`;
  throw new IngestError(422, 'RCV_VALIDATION', `invalid request body: projectId: ${message}`, [{ path: ['projectId'], message, code: 'invalid_value' }]);
}

export function ruleRoutes({ host }: ControlPlaneDeps): ApiRoute[] {
  const objects = host.objects;
  const find = (workspace: string, id: string) => {
    const object = objects.get('rule', workspace, id);
    if (!object) throw notFound(`rule "${id.slice(0, 100)}"`);
    return object;
  };
  return [
    {
      method: 'GET',
      path: '/api/rules',
      role: 'read',
      handle: ({ workspace }) => ({ status: 200, body: objects.list('rule', workspace).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id)).map(ruleAnswer) }),
    },
    {
      method: 'POST',
      path: '/api/rules',
      role: 'admin',
      handle: async ({ workspace, principal, body }) => {
        const rule = parseBody(apiRuleSchema, body);
        checkValue(rule);
        checkProject(objects, workspace, rule);
        const id = newId('rule');
        const created = await writeObject(objects, { kind: 'rule', workspace, id, spec: { ...rule, isActive: rule.isActive ?? true }, changedBy: principal, create: true });
        return { status: 201, body: ruleAnswer(created as ControlObject), headers: { ...etagHeader(created as ControlObject), Location: `/api/rules/${id}` } };
      },
    },
    {
      method: 'POST',
      path: '/api/rules/evaluate',
      role: 'read',
      handle: async ({ workspace, body }) => {
        const request = parseBody(evaluateSchema, body);
        const evaluator = host.capability('ruleEvaluator');
        if (!evaluator) throw new IngestError(503, 'API_NO_RULE_ENGINE', 'no evaluate_rules processor runs in this daemon', undefined, 60);
        let rule: Record<string, unknown>;
        if (typeof request.rule === 'string') {
          rule = { id: request.rule, ...find(workspace, request.rule).spec };
        } else {
          const parsed = parseBody(apiRuleSchema.partial({ name: true }), withoutReadOnly(request.rule));
          checkValue(parsed as ApiRule);
          // A rule as GET returned it keeps its id in the findings.
          rule = { ...parsed, name: parsed.name ?? 'rule', ...(typeof request.rule.id === 'string' ? { id: request.rule.id } : {}) };
        }
        const findings = await evaluator.evaluate(rule, request.output, { confidence: request.confidence, workspace });
        const verdict = findings.length === 0 ? 'pass' : verdictOf(findings);
        const explanation = findings.length === 0 ? 'the rule does not apply to this output' : findings.map((f) => `${f.ruleName}: ${f.detail ?? f.outcome}`).join('; ');
        return {
          status: 200,
          body: { verdict, confidenceScore: confidenceOf(findings) ?? request.confidence ?? (verdict === 'error' ? 0 : 1), explanation, status: verdict, appliedRules: appliedRulesOf(findings) },
        };
      },
    },
    {
      method: 'GET',
      path: '/api/rules/:id',
      role: 'read',
      handle: ({ workspace, params }) => {
        const object = find(workspace, params.id);
        return { status: 200, body: ruleAnswer(object), headers: etagHeader(object) };
      },
    },
    {
      method: 'PATCH',
      path: '/api/rules/:id',
      role: 'admin',
      handle: async ({ workspace, principal, params, body, headers }) => {
        const patch = parseBody(patchSchema, body);
        const ifMatch = ifMatchOf(headers);
        const current = find(workspace, params.id);
        const next = { ...current.spec, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) } as ApiRule;
        checkValue(next);
        if (patch.projectId !== undefined) checkProject(objects, workspace, next);
        const updated = await writeObject(objects, { kind: 'rule', workspace: current.source === 'config' ? current.workspace : workspace, id: params.id, spec: next, changedBy: principal, ifMatch: ifMatch ?? current.version });
        return { status: 200, body: { ok: true }, headers: etagHeader(updated as ControlObject) };
      },
    },
    {
      method: 'DELETE',
      path: '/api/rules/:id',
      role: 'admin',
      handle: async ({ workspace, principal, params, headers }) => {
        const ifMatch = ifMatchOf(headers);
        const current = find(workspace, params.id);
        await writeObject(objects, { kind: 'rule', workspace: current.source === 'config' ? current.workspace : workspace, id: params.id, spec: null, changedBy: principal, ifMatch });
        return { status: 200, body: { ok: true } };
      },
    },
  ];
}
