/**
 * No Docker engine runs on the build machines, so docker-compose.yml is checked statically: every
 * config file its Tracehouse services run exists and validates with the environment the service
 * gets, every published port is one the selected pipelines listen on, and the Kafka and ClickHouse
 * addresses point at the services that provide them.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { registry } from '../../components';
import { hasErrors, formatDiagnostic } from '../../core/config/diagnostics';
import { loadConfigFile } from '../../core/config/load-config';
import { parseListen } from '../../core/listen';

const root = path.join(__dirname, '..', '..');

interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  profiles?: string[];
}

const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
const services = compose.services;
const tracehouseServices = Object.entries(services).filter(([, s]) => s.command?.join(' ').includes('tracehouse.js run'));

/** `${VAR:-default}` as docker compose expands it with nothing set in the shell. */
function composeValue(value: string | number): string {
  return String(value).replace(/\$\{([A-Z0-9_]+):-([^}]*)\}/g, (_m, _name: string, fallback: string) => fallback);
}

function runArgs(service: ComposeService): { config: string; pipelines?: string[] } {
  const line = service.command?.join(' ') ?? '';
  const config = /tracehouse\.js run -c (\S+)/.exec(line)?.[1];
  if (!config) throw new Error(`no "tracehouse.js run -c FILE" in: ${line}`);
  const pipelines = /--pipelines (\S+)/.exec(line)?.[1]?.split(',');
  return { config, pipelines };
}

describe('docker-compose.yml', () => {
  it('runs Kafka in KRaft mode, ClickHouse, and an ingest and a store tier on the tier config', () => {
    expect(services.kafka.image).toMatch(/^apache\/kafka:/);
    expect(String(services.kafka.environment?.KAFKA_PROCESS_ROLES)).toContain('controller');
    expect(services.clickhouse.image).toMatch(/^clickhouse\/clickhouse-server:/);
    expect(runArgs(services['tracehouse-ingest'])).toEqual({ config: 'examples/kafka-tiers.yaml', pipelines: ['traces/ingest'] });
    expect(runArgs(services['tracehouse-store'])).toEqual({ config: 'examples/kafka-tiers.yaml', pipelines: ['traces/store'] });
  });

  it.each(tracehouseServices)('%s: its config exists, validates with its environment, and listens on every published port', (_name, service) => {
    const { config, pipelines } = runArgs(service);
    expect(existsSync(path.join(root, config))).toBe(true);
    const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, composeValue(v)]));
    const { config: resolved, diagnostics } = loadConfigFile(path.join(root, config), registry, { env, pipelines });
    expect(hasErrors(diagnostics) ? diagnostics.map(formatDiagnostic) : []).toEqual([]);
    if (!resolved) throw new Error('config did not load');
    const selected = pipelines ?? Object.keys(resolved.service.pipelines);
    const listening = new Set<number>([parseListen(resolved.service.admin.listen)?.port ?? -1]);
    for (const id of new Set(selected.flatMap((p) => resolved.service.pipelines[p].receivers))) {
      const receiver = resolved.receivers.get(id);
      for (const claim of receiver?.factory.claimedRoutes(receiver.config) ?? []) listening.add(parseListen(claim.listen)?.port ?? -1);
    }
    for (const mapping of service.ports ?? []) {
      const containerPort = Number(mapping.split(':').pop());
      expect({ mapping, listened: listening.has(containerPort) }).toEqual({ mapping, listened: true });
    }
    // Kafka and ClickHouse addresses name the compose services and the ports they serve on.
    if (env.KAFKA_BROKERS) {
      const advertised = String(services.kafka.environment?.KAFKA_ADVERTISED_LISTENERS);
      expect(advertised).toContain(`//${env.KAFKA_BROKERS}`);
    }
    if (env.CLICKHOUSE_ENDPOINT) {
      const url = new URL(env.CLICKHOUSE_ENDPOINT);
      expect(Object.keys(services)).toContain(url.hostname);
      expect(services[url.hostname].ports?.some((p) => p.endsWith(`:${url.port}`))).toBe(true);
    }
  });
});
