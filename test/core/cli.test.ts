import path from 'node:path';
import { registry } from '../../components';
import { EXIT_CONFIG, EXIT_USAGE, runCli } from '../../core/cli';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) }, out, err };
}
const scenario = (name: string) => path.join(__dirname, 'config', 'scenarios', `${name}.yaml`);

describe('tracehouse CLI', () => {
  it('validate exits 0 on a valid file and says so', async () => {
    const { io, out, err } = capture();
    expect(await runCli(['validate', '-c', scenario('valid-minimal')], registry, io)).toBe(0);
    expect(out.join('')).toBe(`${scenario('valid-minimal')}: configuration is valid\n`);
    expect(err).toEqual([]);
  });

  it('validate exits 78 and prints one line per problem', async () => {
    const { io, err } = capture();
    expect(await runCli(['validate', '-c', scenario('invalid-values')], registry, io)).toBe(EXIT_CONFIG);
    expect(err.join('').trim().split('\n')).toHaveLength(3);
    expect(err[0]).toMatch(/^invalid-values\.yaml:4:15 error receivers\.otlp\.http\.listen .* \[CFG_INVALID_VALUE\]\n$/);
  });

  it('validate passes warnings but still exits 0', async () => {
    const { io, out, err } = capture();
    expect(await runCli(['validate', '-c', scenario('unused-component')], registry, io)).toBe(0);
    expect(err.join('')).toMatch(/CFG_UNUSED_COMPONENT/);
    expect(out.join('')).toMatch(/valid \(1 warning\)/);
  });

  it('run refuses to start on config errors with exit 78', async () => {
    const { io, err } = capture();
    expect(await runCli(['run', '-c', scenario('route-conflict')], registry, io)).toBe(EXIT_CONFIG);
    expect(err.join('')).toMatch(/CFG_ROUTE_CONFLICT[\s\S]*not starting/);
  });

  it('components lists every registered factory', async () => {
    const { io, out } = capture();
    expect(await runCli(['components'], registry, io)).toBe(0);
    const lines = out.join('').trim().split('\n');
    expect(lines).toHaveLength(registry.receivers.length + registry.processors.length + registry.exporters.length + (registry.extensions ?? []).length);
    expect(lines.find((l) => /^extension\s+control_plane\s/.test(l))).toBeDefined();
    expect(lines.find((l) => /^receiver\s+otlp\s+beta\s+OTLP traces/.test(l))).toBeDefined();
  });

  it('run --help and unknown options print the usage and exit 2, without a stack trace', async () => {
    const help = capture();
    expect(await runCli(['run', '--help'], registry, help.io)).toBe(EXIT_USAGE);
    expect(help.out.join('')).toMatch(/^usage: tracehouse/);
    const unknown = capture();
    expect(await runCli(['validate', '--bogus'], registry, unknown.io)).toBe(EXIT_USAGE);
    expect(unknown.err.join('')).toMatch(/Unknown option '--bogus'[\s\S]*usage: tracehouse/);
    expect(unknown.err.join('')).not.toMatch(/\n\s+at /);
    const query = capture();
    expect(await runCli(['query', '-x', 'SELECT 1'], registry, query.io)).toBe(EXIT_USAGE);
  });

  it('unknown commands exit 64 with usage', async () => {
    const { io, err } = capture();
    expect(await runCli(['launch'], registry, io)).toBe(64);
    expect(err.join('')).toMatch(/unknown command "launch"[\s\S]*usage: tracehouse/);
  });
});
