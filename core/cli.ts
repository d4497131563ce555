import { parseArgs } from 'node:util';
import type { ComponentRegistry } from './component';
import { formatDiagnostic, hasErrors } from './config/diagnostics';
import { loadConfigFile } from './config/load-config';
import { errorMessage } from './errors';
import { createRootLogger } from './logger';
import { Service } from './service';

/** sysexits.h EX_CONFIG: the exit code for configuration errors. */
export const EXIT_CONFIG = 78;
/** A command line that cannot be used (an unknown option, --help of a command): usage, exit 2. */
export const EXIT_USAGE = 2;

/** An option the command does not know, or --help: the usage is printed and the CLI exits 2. */
class UsageError extends Error {}

type ParseConfig = NonNullable<Parameters<typeof parseArgs>[0]>;

/** parseArgs, with unknown options and --help/-h as a UsageError instead of a stack trace. */
function options<T extends ParseConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  if (config.args?.some((a) => a === '--help' || a === '-h')) throw new UsageError('');
  try {
    return parseArgs(config);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code.startsWith('ERR_PARSE_ARGS')) throw new UsageError((err as Error).message);
    throw err;
  }
}

const USAGE = `usage: tracehouse <command> [options]

commands:
  run -c FILE [--pipelines a,b]   start the daemon (refuses to start on config errors)
  validate -c FILE                check a config without starting (exit 78 on errors)
  components                      list the receivers, processors, exporters and extensions built in
  query [--endpoint URL] [--format FMT] "SQL"
                                  run a read-only query through a running daemon's admin endpoint
                                  (API key from --api-key or TRACEHOUSE_API_KEY)
`;

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** Runs one CLI command and returns its exit code (`run` returns only when the daemon stops). */
export async function runCli(argv: readonly string[], registry: ComponentRegistry, io: CliIo = processIo): Promise<number> {
  try {
    return await command(argv, registry, io);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (err.message === '') io.out(USAGE);
    else io.err(`tracehouse: ${err.message}\n${USAGE}`);
    return EXIT_USAGE;
  }
}

async function command(argv: readonly string[], registry: ComponentRegistry, io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return run(rest, registry, io);
    case 'validate':
      return validate(rest, registry, io);
    case 'components':
      return components(registry, io);
    case 'query':
      return query(rest, io);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      io.out(USAGE);
      return command === undefined ? 64 : 0;
    default:
      io.err(`tracehouse: unknown command "${command}"\n${USAGE}`);
      return 64;
  }
}

function configArgs(args: readonly string[]): { file: string; pipelines?: string[] } {
  const { values } = options({
    args: [...args],
    options: {
      config: { type: 'string', short: 'c', default: 'pipelines.yaml' },
      pipelines: { type: 'string' },
    },
  });
  const pipelines = values.pipelines?.split(',').map((p) => p.trim()).filter(Boolean);
  return { file: values.config ?? 'pipelines.yaml', pipelines };
}

function validate(args: readonly string[], registry: ComponentRegistry, io: CliIo): number {
  const { file, pipelines } = configArgs(args);
  const { diagnostics } = loadConfigFile(file, registry, { pipelines });
  for (const d of diagnostics) io.err(`${formatDiagnostic(d)}\n`);
  if (hasErrors(diagnostics)) return EXIT_CONFIG;
  const warnings = diagnostics.length;
  io.out(`${file}: configuration is valid${warnings ? ` (${warnings} warning${warnings > 1 ? 's' : ''})` : ''}\n`);
  return 0;
}

async function run(args: readonly string[], registry: ComponentRegistry, io: CliIo): Promise<number> {
  const { file, pipelines } = configArgs(args);
  const { config, diagnostics } = loadConfigFile(file, registry, { pipelines });
  for (const d of diagnostics) io.err(`${formatDiagnostic(d)}\n`);
  if (!config) {
    io.err(`tracehouse: not starting: ${file} has errors\n`);
    return EXIT_CONFIG;
  }
  const logger = createRootLogger({ level: config.service.log_level });
  const service = new Service(config, { logger, pipelines });
  try {
    await service.start();
  } catch (err) {
    logger.fatal({ err: errorMessage(err) }, 'tracehouse failed to start');
    return 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info({ signal }, 'shutting down: draining in-flight requests and flushing exporters');
  const timeoutMs = config.service.shutdown_timeout_ms;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([service.shutdown().then(() => 'done' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    logger.error({ timeout_ms: timeoutMs }, 'shutdown did not finish in time; exiting with work still pending');
    return 1;
  }
  return 0;
}

function components(registry: ComponentRegistry, io: CliIo): number {
  const rows = [...registry.receivers, ...registry.processors, ...registry.exporters, ...(registry.extensions ?? [])].map((f) => [
    f.kind,
    f.type,
    f.stability,
    f.summary,
  ]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) io.out(`${r.slice(0, 3).map((c, i) => c.padEnd(widths[i])).join('  ')}  ${r[3]}\n`);
  return 0;
}

async function query(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = options({
    args: [...args],
    allowPositionals: true,
    options: {
      endpoint: { type: 'string', default: process.env.TRACEHOUSE_ADMIN_ENDPOINT ?? 'http://127.0.0.1:8888' },
      format: { type: 'string', default: 'PrettyCompactMonoBlock' },
      database: { type: 'string' },
      'api-key': { type: 'string' },
    },
  });
  const sql = positionals.join(' ').trim();
  if (sql === '') {
    io.err('tracehouse query: give the SQL as an argument, e.g. tracehouse query "SELECT count() FROM otel_traces"\n');
    return 64;
  }
  const url = new URL(values.endpoint ?? 'http://127.0.0.1:8888');
  url.searchParams.set('default_format', values.format ?? 'PrettyCompactMonoBlock');
  if (values.database) url.searchParams.set('database', values.database);
  const apiKey = values['api-key'] ?? process.env.TRACEHOUSE_API_KEY;
  try {
    const res = await fetch(url, {
      method: 'POST',
      body: sql,
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
    });
    const text = await res.text();
    if (!res.ok) {
      io.err(text);
      return 1;
    }
    io.out(text);
    return 0;
  } catch (err) {
    io.err(`tracehouse query: cannot reach ${url.origin}: ${errorMessage(err)}\n`);
    return 1;
  }
}
