/**
 * Alert rules and delivery targets managed over HTTP (control-plane kinds `alert_rule` and
 * `delivery_target`, stored in the API's shape) turned into the processor's own rules and targets,
 * and the config's rules and targets shown back to the API as read-only objects.
 *
 * A managed rule sees only its workspace's spans (filter.workspace), and its delivery targets are
 * looked up in its workspace first, then among the config's targets.
 */
import { alertRuleBodySchema, deliveryTargetBodySchema, processorConditionOf } from '../../core/alerting/api-objects';
import { targetSchema, withEmailTransport } from '../../core/alerting/target-configs';
import type { EmailTargetConfig, TargetConfig } from '../../core/alerting/target-configs';
import type { ControlObject, ObjectSpec } from '../../core/control/objects';
import { GLOBAL_WORKSPACE } from '../../core/control/objects';
import type { Logger } from '../../core/logger';
import { ruleSchema } from './config';
import type { AlertRuleConfig } from './config';

/** The notifier's key of a target managed over HTTP (`/` never occurs in config target ids). */
export function managedTargetKey(workspace: string, id: string): string {
  return `${workspace}/${id}`;
}

export interface ManagedTarget {
  key: string;
  workspace: string;
  id: string;
  name: string;
  defaultSeverity: AlertRuleConfig['severity'];
  config: TargetConfig;
}

/** The valid API delivery targets; invalid ones are logged (by id, never their settings) and skipped. */
export function managedTargets(objects: readonly ControlObject[], logger: Logger, emailTransport?: EmailTargetConfig): ManagedTarget[] {
  const out: ManagedTarget[] = [];
  for (const object of objects) {
    if (object.source !== 'api' || object.workspace === GLOBAL_WORKSPACE) continue;
    const body = deliveryTargetBodySchema.safeParse(object.spec);
    // An e-mail target without its own SMTP server sends through the configured one (none: not valid here).
    const settings = body.success && body.data.type === 'email' ? withEmailTransport(body.data.config, emailTransport) : body.data?.config;
    const config = body.success ? targetSchema.safeParse({ type: body.data.type, ...settings }) : undefined;
    if (!body.success || !config?.success) {
      logger.warn({ target: object.id, workspace: object.workspace }, 'a delivery target managed over HTTP is not valid here and is skipped');
      continue;
    }
    out.push({ key: managedTargetKey(object.workspace, object.id), workspace: object.workspace, id: object.id, name: body.data.name, defaultSeverity: body.data.default_severity, config: config.data });
  }
  return out;
}

export interface ManagedRule {
  workspace: string;
  rule: AlertRuleConfig;
}

/**
 * The valid API alert rules (paused ones with enabled: false). `resolve` maps a target id named
 * by a rule of a workspace to the notifier's key; unknown targets are logged and left out.
 */
export function managedRules(objects: readonly ControlObject[], resolve: (workspace: string, id: string) => string | undefined, logger: Logger): ManagedRule[] {
  const out: ManagedRule[] = [];
  for (const object of objects) {
    if (object.source !== 'api' || object.workspace === GLOBAL_WORKSPACE) continue;
    const body = alertRuleBodySchema.safeParse(object.spec);
    if (!body.success) {
      logger.warn({ rule: object.id, workspace: object.workspace }, 'an alert rule managed over HTTP is not valid here and is skipped');
      continue;
    }
    const targets: string[] = [];
    for (const id of body.data.delivery_targets) {
      const key = resolve(object.workspace, id);
      if (key) targets.push(key);
      else logger.warn({ rule: object.id, workspace: object.workspace, target: id }, 'an alert rule managed over HTTP names a delivery target that does not exist; it is left out');
    }
    const rule = ruleSchema.safeParse({
      id: object.id,
      name: body.data.name,
      severity: body.data.severity ?? 'medium',
      targets,
      enabled: body.data.status === 'active',
      condition: processorConditionOf(body.data.condition),
      group_by: ['workspace'],
      filter: { workspace: object.workspace },
    });
    if (!rule.success) {
      logger.warn({ rule: object.id, workspace: object.workspace }, 'an alert rule managed over HTTP cannot be applied by this processor and is skipped');
      continue;
    }
    out.push({ workspace: object.workspace, rule: rule.data });
  }
  return out;
}

/** A config rule as the API lists it (read-only): the contract's fields, its own condition. */
export function declaredRuleSpec(rule: AlertRuleConfig): ObjectSpec {
  const { type, ...condition } = rule.condition;
  return {
    name: rule.name,
    condition: { metric: type, ...condition },
    delivery_targets: rule.targets,
    severity: rule.severity,
    status: rule.enabled ? 'active' : 'paused',
    group_by: rule.group_by,
    filter: rule.filter,
  };
}

/** A config target as the API lists it (read-only; its secrets are masked in answers). */
export function declaredTargetSpec(id: string, target: TargetConfig): ObjectSpec {
  const { type, ...config } = target;
  return { name: id, type, config, default_severity: 'medium' };
}
