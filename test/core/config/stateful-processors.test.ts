import path from 'node:path';
import { registry } from '../../../components';
import { EXIT_CONFIG, runCli } from '../../../core/cli';
import { loadConfigFile } from '../../../core/config/load-config';

const file = path.join(__dirname, 'scenarios', 'stateful-processor-shared.yaml');

describe('a stateful processor listed in several pipelines', () => {
  it('`tracehouse validate` exits 78 naming each repeated alert and evaluate_rules processor', async () => {
    const err: string[] = [];
    const code = await runCli(['validate', '-c', file], registry, { out: () => undefined, err: (t) => void err.push(t) });
    expect(code).toBe(EXIT_CONFIG);
    const lines = err.join('').trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^stateful-processor-shared\.yaml:16:20 error service\.pipelines\.traces\/copy\.processors\.0 processor "evaluate_rules" is already in pipeline "traces": .* \[CFG_SHARED_STATEFUL_PROCESSOR\]$/),
      expect.stringMatching(/^stateful-processor-shared\.yaml:16:36 error service\.pipelines\.traces\/copy\.processors\.1 processor "alert" is already in pipeline "traces": .* \[CFG_SHARED_STATEFUL_PROCESSOR\]$/),
    ]);
  });

  it('is accepted when --pipelines runs only one of those pipelines', () => {
    const { config, diagnostics } = loadConfigFile(file, registry, { env: {}, pipelines: ['traces/copy'] });
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(config).toBeDefined();
  });
});
