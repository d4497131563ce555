import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type {
  AnyFactory,
  ClaimedRoute,
  ComponentRegistry,
  ExporterFactory,
  ExtensionFactory,
  ProcessorFactory,
  ReceiverFactory,
} from '../component';
import { isLoopbackHost, isWildcardHost, listenKey, parseListen } from '../listen';
import type { Diagnostic } from './diagnostics';
import { hasErrors } from './diagnostics';
import { sharedStateConfigSchema } from '../shared-state/config';
import type { SharedStateConfig } from '../shared-state/config';
import { serviceConfigSchema } from './service-config';
import type { ServiceConfig } from './service-config';
import { WORKSPACE_ID, workspaceConfigSchema } from '../workspaces';
import type { WorkspacesConfig } from '../workspaces';
import { YamlSource } from './yaml-source';
import { reportZodIssues } from './zod-issues';

export interface ConfiguredComponent<F extends AnyFactory> {
  id: string;
  factory: F;
  /** The config after parsing with the factory's schema (defaults applied). */
  config: unknown;
}

export interface ResolvedConfig {
  file: string;
  receivers: Map<string, ConfiguredComponent<ReceiverFactory>>;
  processors: Map<string, ConfiguredComponent<ProcessorFactory>>;
  exporters: Map<string, ConfiguredComponent<ExporterFactory>>;
  /** Components outside pipelines (control plane, read APIs), run when listed in service.extensions. */
  extensions: Map<string, ConfiguredComponent<ExtensionFactory>>;
  /** The top-level `workspaces` section (empty when absent). */
  workspaces: WorkspacesConfig;
  /** The top-level `shared_state` section; absent: state stays in each process. */
  sharedState?: SharedStateConfig;
  service: ServiceConfig;
}

export interface LoadResult {
  /** Present only when there are no errors. */
  config?: ResolvedConfig;
  diagnostics: Diagnostic[];
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Run only these pipelines (e.g. one tier of a Kafka deployment). */
  pipelines?: readonly string[];
}

const SECTIONS = ['receivers', 'processors', 'exporters'] as const;
type Section = (typeof SECTIONS)[number];
const TOP_LEVEL_KEYS = new Set<string>([...SECTIONS, 'extensions', 'workspaces', 'shared_state', 'service']);
/** Keys shorter than this draw a warning (the development default `dev-key` is one). */
const STRONG_KEY_LENGTH = 16;
const COMPONENT_ID = /^([a-z][a-z0-9_]*)(?:\/([A-Za-z0-9_.-]+))?$/;
const PIPELINE_ID = /^([a-z][a-z0-9_]*)(?:\/([A-Za-z0-9_.-]+))?$/;
const SIGNALS = new Set(['traces']);

export function loadConfigFile(file: string, registry: ComponentRegistry, options: LoadOptions = {}): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    return {
      diagnostics: [
        { file, line: 1, col: 1, severity: 'error', path: '', message: `cannot read config file (${reason})`, code: 'CFG_READ' },
      ],
    };
  }
  return loadConfigText(text, basename(file), registry, options);
}

export function loadConfigText(
  text: string,
  file: string,
  registry: ComponentRegistry,
  options: LoadOptions = {},
): LoadResult {
  const source = new YamlSource(file, text, options.env ?? process.env);
  const root = source.toJS();
  if (hasErrors(source.diagnostics)) return { diagnostics: source.diagnostics };
  if (!isPlainObject(root)) {
    source.report([], 'the config must be a mapping with receivers, processors, exporters and service', 'CFG_INVALID_TYPE');
    return { diagnostics: source.diagnostics };
  }
  for (const key of Object.keys(root)) {
    if (!TOP_LEVEL_KEYS.has(key)) {
      source.report([], `unknown key "${key}" (expected receivers, processors, exporters, extensions, workspaces, shared_state, service)`, 'CFG_UNKNOWN_KEY', { atKey: key });
    }
  }

  const receivers = parseSection(source, root, 'receivers', registry.receivers);
  const processors = parseSection(source, root, 'processors', registry.processors);
  const exporters = parseSection(source, root, 'exporters', registry.exporters);
  const extensions = parseSection(source, root, 'extensions', registry.extensions ?? []);
  const workspaces = parseWorkspaces(source, root);
  const sharedState = parseSharedState(source, root);
  const service = parseService(source, root);
  if (service) {
    const selected = selectPipelines(source, service, options.pipelines);
    // References are checked against every declared id, even one whose settings are invalid, so
    // that one mistake is reported once.
    const declared = (section: Section | 'extensions') => new Set(isPlainObject(root[section]) ? Object.keys(root[section]) : []);
    checkPipelines(source, service, selected, { receivers: declared('receivers'), processors: declared('processors'), exporters: declared('exporters') });
    checkExtensions(source, service, declared('extensions'));
    const listening = [...receiversOf(service, selected, receivers), ...extensionsOf(service, extensions)];
    checkListeners(source, service, listening);
    checkWorkspaceAuth(source, root, listening, workspaces, new Set([...declared('receivers'), ...declared('extensions')]));
  }

  const diagnostics = source.diagnostics;
  if (hasErrors(diagnostics) || !service) return { diagnostics };
  return { config: { file, receivers, processors, exporters, extensions, workspaces, ...(sharedState ? { sharedState } : {}), service }, diagnostics };
}

function parseSharedState(source: YamlSource, root: Record<string, unknown>): SharedStateConfig | undefined {
  if (root.shared_state === undefined || root.shared_state === null) return undefined;
  const parsed = sharedStateConfigSchema.safeParse(root.shared_state, { reportInput: true });
  if (!parsed.success) {
    reportZodIssues(source, ['shared_state'], parsed.error);
    return undefined;
  }
  return parsed.data;
}

/** A component that listens: a receiver of a selected pipeline, or an extension the service runs. */
interface Listening {
  section: 'receivers' | 'extensions';
  id: string;
  claims: ClaimedRoute[];
}

function receiversOf(service: ServiceConfig, selected: readonly string[], receivers: Map<string, ConfiguredComponent<ReceiverFactory>>): Listening[] {
  const active = new Set(selected.flatMap((p) => service.pipelines[p].receivers));
  const out: Listening[] = [];
  for (const id of active) {
    const receiver = receivers.get(id);
    if (receiver) out.push({ section: 'receivers', id, claims: receiver.factory.claimedRoutes(receiver.config) });
  }
  return out;
}

function extensionsOf(service: ServiceConfig, extensions: Map<string, ConfiguredComponent<ExtensionFactory>>): Listening[] {
  const out: Listening[] = [];
  for (const id of service.extensions) {
    const extension = extensions.get(id);
    if (extension) out.push({ section: 'extensions', id, claims: extension.factory.claimedRoutes(extension.config) });
  }
  return out;
}

function checkExtensions(source: YamlSource, service: ServiceConfig, defined: Set<string>): void {
  const seen = new Set<string>();
  service.extensions.forEach((id, index) => {
    if (seen.has(id)) source.report(['service', 'extensions', index], `extension "${id}" is listed twice`, 'CFG_DUPLICATE_REFERENCE');
    seen.add(id);
    if (!defined.has(id)) source.report(['service', 'extensions', index], `extension "${id}" is not configured under extensions`, 'CFG_UNDEFINED_COMPONENT');
  });
  for (const id of defined) {
    if (!seen.has(id)) source.report(['extensions', id], `extension "${id}" is configured but not listed in service.extensions`, 'CFG_UNUSED_COMPONENT', { severity: 'warning' });
  }
}

function parseSection<F extends AnyFactory>(
  source: YamlSource,
  root: Record<string, unknown>,
  section: Section | 'extensions',
  factories: readonly F[],
): Map<string, ConfiguredComponent<F>> {
  const out = new Map<string, ConfiguredComponent<F>>();
  const raw = root[section];
  if (raw === undefined || raw === null) return out;
  if (!isPlainObject(raw)) {
    source.report([section], `${section} must be a mapping of component ids to their settings`, 'CFG_INVALID_TYPE');
    return out;
  }
  const kind = section.slice(0, -1);
  for (const [id, value] of Object.entries(raw)) {
    const m = COMPONENT_ID.exec(id);
    if (!m) {
      source.report([section], `invalid ${kind} id "${id}": use "type" or "type/name"`, 'CFG_BAD_ID', { atKey: id });
      continue;
    }
    const factory = factories.find((f) => f.type === m[1]);
    if (!factory) {
      const known = factories.map((f) => f.type).join(', ') || 'none';
      source.report([section], `unknown ${kind} type "${m[1]}" (known: ${known})`, 'CFG_UNKNOWN_TYPE', { atKey: id });
      continue;
    }
    const parsed = factory.configSchema.safeParse(value ?? {}, { reportInput: true });
    if (!parsed.success) {
      reportZodIssues(source, [section, id], parsed.error);
      continue;
    }
    out.set(id, { id, factory, config: parsed.data });
  }
  return out;
}

function parseWorkspaces(source: YamlSource, root: Record<string, unknown>): WorkspacesConfig {
  const out: WorkspacesConfig = {};
  const raw = root.workspaces;
  if (raw === undefined || raw === null) return out;
  if (!isPlainObject(raw)) {
    source.report(['workspaces'], 'workspaces must be a mapping of workspace ids to their keys', 'CFG_INVALID_TYPE');
    return out;
  }
  // Each workspace on its own, so that one broken entry does not hide the problems of the others.
  for (const [id, value] of Object.entries(raw)) {
    if (!WORKSPACE_ID.test(id)) {
      source.report(['workspaces'], `invalid workspace id "${id}": use 1-64 letters, digits, "_", "." or "-"`, 'CFG_BAD_ID', { atKey: id });
      continue;
    }
    const parsed = workspaceConfigSchema.safeParse(value ?? {}, { reportInput: true });
    if (!parsed.success) {
      reportZodIssues(source, ['workspaces', id], parsed.error);
      continue;
    }
    out[id] = parsed.data;
    parsed.data.api_keys.forEach((key, index) => {
      const plain = typeof key === 'string' ? key : key.key;
      if (plain !== undefined && plain.length < STRONG_KEY_LENGTH) {
        source.report(['workspaces', id, 'api_keys', index], `API key is shorter than ${STRONG_KEY_LENGTH} characters: fine for development on loopback, set a long random key (e.g. TRACEHOUSE_API_KEY) anywhere else`, 'CFG_WEAK_KEY', { severity: 'warning' });
      }
    });
  }
  return out;
}

function parseService(source: YamlSource, root: Record<string, unknown>): ServiceConfig | undefined {
  if (root.service === undefined || root.service === null) {
    source.report([], 'missing required key "service" (with service.pipelines)', 'CFG_MISSING_KEY');
    return undefined;
  }
  const parsed = serviceConfigSchema.safeParse(root.service, { reportInput: true });
  if (!parsed.success) {
    reportZodIssues(source, ['service'], parsed.error);
    return undefined;
  }
  return parsed.data;
}

function selectPipelines(source: YamlSource, service: ServiceConfig, only: readonly string[] | undefined): string[] {
  const all = Object.keys(service.pipelines);
  if (!only || only.length === 0) return all;
  for (const name of only) {
    if (!all.includes(name)) {
      source.report(['service', 'pipelines'], `pipeline "${name}" selected with --pipelines is not defined (defined: ${all.join(', ') || 'none'})`, 'CFG_UNKNOWN_PIPELINE');
    }
  }
  return all.filter((p) => only.includes(p));
}

function checkPipelines(
  source: YamlSource,
  service: ServiceConfig,
  selected: readonly string[],
  defined: Record<Section, Set<string>>,
): void {
  if (Object.keys(service.pipelines).length === 0) {
    source.report(['service', 'pipelines'], 'no pipelines are defined', 'CFG_NO_PIPELINES');
  }
  const used: Record<Section, Set<string>> = { receivers: new Set(), processors: new Set(), exporters: new Set() };
  for (const [name, pipeline] of Object.entries(service.pipelines)) {
    const path = ['service', 'pipelines', name];
    const m = PIPELINE_ID.exec(name);
    if (!m || !SIGNALS.has(m[1])) {
      source.report(['service', 'pipelines'], `invalid pipeline id "${name}": use "traces" or "traces/name"`, 'CFG_BAD_ID', { atKey: name });
    }
    if (pipeline.receivers.length === 0) source.report(path, 'pipeline has no receivers', 'CFG_NO_RECEIVERS');
    if (pipeline.exporters.length === 0) source.report(path, 'pipeline has no exporters', 'CFG_NO_EXPORTERS');
    for (const section of SECTIONS) {
      const seen = new Set<string>();
      pipeline[section].forEach((id, index) => {
        used[section].add(id);
        if (seen.has(id)) {
          source.report([...path, section, index], `${section.slice(0, -1)} "${id}" is listed twice`, 'CFG_DUPLICATE_REFERENCE');
        }
        seen.add(id);
        if (!defined[section].has(id) && selected.includes(name)) {
          source.report([...path, section, index], `${section.slice(0, -1)} "${id}" is not configured under ${section}`, 'CFG_UNDEFINED_COMPONENT');
        }
      });
    }
  }
  checkSingleInstanceProcessors(source, service, selected);
  for (const section of SECTIONS) {
    for (const id of defined[section].keys()) {
      if (!used[section].has(id)) {
        source.report([section, id], `${section.slice(0, -1)} "${id}" is configured but not used by any pipeline`, 'CFG_UNUSED_COMPONENT', { severity: 'warning' });
      }
    }
  }
}

/**
 * Processor types whose state must be one per daemon: a processor listed in several pipelines is
 * built once per pipeline, so each copy would keep its own timers, incidents or per-trace state,
 * take its own Redis lease, and only one copy would serve the capabilities it provides (alerting,
 * ruleEvaluator, decisionCallbacks).
 */
const SINGLE_INSTANCE_PROCESSOR_TYPES = new Set(['alert', 'evaluate_rules']);

function checkSingleInstanceProcessors(source: YamlSource, service: ServiceConfig, selected: readonly string[]): void {
  const firstPipeline = new Map<string, string>();
  for (const name of selected) {
    const pipeline = service.pipelines[name];
    if (!pipeline) continue;
    pipeline.processors.forEach((id, index) => {
      if (!SINGLE_INSTANCE_PROCESSOR_TYPES.has(id.split('/')[0])) return;
      const first = firstPipeline.get(id);
      if (first === undefined) {
        firstPipeline.set(id, name);
        return;
      }
      source.report(
        ['service', 'pipelines', name, 'processors', index],
        `processor "${id}" is already in pipeline "${first}": it keeps state (timers, incidents, per-trace detections) that must be one per daemon; give each pipeline its own "${id.split('/')[0]}/<name>", or route the spans into one pipeline`,
        'CFG_SHARED_STATEFUL_PROCESSOR',
      );
    });
  }
}

/** Route conflicts and the rule that a non-loopback listener needs auth (or an explicit `auth: none`). */
function checkListeners(source: YamlSource, service: ServiceConfig, listening: readonly Listening[]): void {
  const claims: (ClaimedRoute & { owner: string; section: Listening['section'] })[] = [];
  for (const component of listening) for (const claim of component.claims) claims.push({ ...claim, owner: component.id, section: component.section });
  const admin = service.admin;
  checkAuth(source, admin.listen, admin.auth, ['service', 'admin', 'listen']);

  const claimsAt = new Map<string, (ClaimedRoute & { owner: string; section: Listening['section'] })[]>();
  const hostByPort = new Map<number, { key: string; owner: string }>();
  hostByPort.set(parseListen(admin.listen)?.port ?? -1, { key: listenKey(admin.listen), owner: 'service.admin' });
  for (const claim of claims) {
    const path = [claim.section, claim.owner, ...claim.configPath.split('.')];
    const addr = parseListen(claim.listen);
    if (!addr) continue;
    checkAuth(source, claim.listen, claim.auth, path);
    const key = listenKey(claim.listen);
    // Port 0 (an ephemeral port, as tests use) never collides with anything.
    const portOwner = addr.port === 0 ? undefined : hostByPort.get(addr.port);
    if (portOwner && portOwner.owner === 'service.admin') {
      source.report(path, `${claim.listen} is the admin listener's port; receivers and extensions must listen elsewhere`, 'CFG_LISTEN_CONFLICT');
      continue;
    }
    if (portOwner && portOwner.key !== key) {
      const portHost = parseListen(portOwner.key)?.host ?? '';
      if (isWildcardHost(addr.host) || isWildcardHost(portHost)) {
        source.report(path, `${claim.listen} overlaps ${portOwner.key} used by ${portOwner.owner}; receivers sharing a port must use the same address`, 'CFG_LISTEN_CONFLICT');
        continue;
      }
    }
    if (!portOwner) hostByPort.set(addr.port, { key, owner: claim.owner });
    // A route of '*' (a server of its own, such as gRPC) claims the whole address.
    const clash = addr.port === 0 ? undefined : claimsAt.get(key)?.find((c) => c.route === claim.route || c.route === '*' || claim.route === '*');
    if (clash) {
      const what = claim.route === '*' || clash.route === '*' ? `${claim.listen}` : `route ${claim.route} on ${claim.listen}`;
      source.report(path, `${what} is already served by ${clash.section === 'extensions' ? 'extension' : 'receiver'} "${clash.owner}" (${clash.configPath})`, 'CFG_ROUTE_CONFLICT');
    }
    claimsAt.set(key, [...(claimsAt.get(key) ?? []), claim]);
  }
}

/**
 * Receivers with `auth: workspaces` need at least one workspace, and a key restricted to some
 * receivers must name configured ones.
 */
function checkWorkspaceAuth(
  source: YamlSource,
  root: Record<string, unknown>,
  listening: readonly Listening[],
  workspaces: WorkspacesConfig,
  declaredReceivers: Set<string>,
): void {
  // A workspace that failed to parse was reported already; do not also report its absence.
  const hasKeys = Object.keys(workspaces).length > 0 || isPlainObject(root.workspaces);
  for (const component of listening) {
    if (hasKeys) break;
    if (component.claims.some((c) => c.auth === 'workspaces')) {
      source.report([component.section, component.id], `${component.section === 'extensions' ? 'extension' : 'receiver'} uses "auth: workspaces" but no workspaces are configured: add a top-level workspaces section, or set auth: none`, 'CFG_NO_WORKSPACES');
    }
  }
  for (const [wsId, ws] of Object.entries(workspaces)) {
    ws.api_keys.forEach((key, index) => {
      if (typeof key === 'string') return;
      key.receivers?.forEach((receiverId, r) => {
        if (!declaredReceivers.has(receiverId)) {
          source.report(['workspaces', wsId, 'api_keys', index, 'receivers', r], `"${receiverId}" is not configured under receivers or extensions`, 'CFG_UNDEFINED_COMPONENT');
        }
      });
    });
  }
}

function checkAuth(source: YamlSource, listen: string, auth: unknown, path: (string | number)[]): void {
  const addr = parseListen(listen);
  if (!addr || isLoopbackHost(addr.host) || auth !== undefined) return;
  source.report(
    path,
    `${listen} is not a loopback address: configure auth (api_keys or workspaces), or say "auth: none" to run without authentication`,
    'CFG_AUTH_REQUIRED',
  );
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
