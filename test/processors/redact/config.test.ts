import { readFileSync } from 'node:fs';
import path from 'node:path';
import { formatDiagnostic } from '../../../core/config/diagnostics';
import { loadConfigText } from '../../../core/config/load-config';
import { BUILTIN_DETECTOR_NAMES, redactProcessorConfigSchema } from '../../../processors/redact/config';
import { redactProcessorFactory } from '../../../processors/redact/factory';
import { createRecorder, recordingRegistry } from '../../support/recording-components';

const registry = recordingRegistry(createRecorder(), { receivers: [], processors: [redactProcessorFactory], exporters: [] });

function load(name: string, env: NodeJS.ProcessEnv = {}) {
  const text = readFileSync(path.join(__dirname, 'config', name), 'utf8');
  return loadConfigText(text, name, registry, { env });
}

const everyDetector = (action: string) =>
  Object.fromEntries(BUILTIN_DETECTOR_NAMES.map((name) => [name, { enabled: true, action }]));

describe('redact config', () => {
  it('turns every detector on with action mask by default', () => {
    const { config, diagnostics } = load('defaults.yaml');
    expect(diagnostics).toEqual([]);
    expect(config?.processors.get('redact')?.config).toEqual({
      detectors: everyDetector('mask'),
      custom_detectors: [],
      allow_keys: [],
      block_keys: [],
    });
  });

  it('parses every option, with the hash key from the environment', () => {
    const { config, diagnostics } = load('full.yaml', { REDACT_HASH_KEY: 'k'.repeat(32) });
    expect(diagnostics).toEqual([]);
    expect(config?.processors.get('redact/strict')?.config).toEqual({
      detectors: {
        ...everyDetector('mask'),
        email: { enabled: true, action: 'hash' },
        phone: { enabled: true, action: 'hash' },
        ipv4: { enabled: false, action: 'mask' },
        ipv6: { enabled: false, action: 'mask' },
        private_key: { enabled: true, action: 'drop' },
      },
      custom_detectors: [
        { name: 'ticket_id', pattern: 'TCK-[0-9]{6}', action: 'mask' },
        { name: 'employee_id', pattern: 'EMP[0-9]{5}', action: 'drop' },
      ],
      allow_keys: ['gen_ai.*', 'user.email'],
      block_keys: ['http.request.header.*'],
      hash_key: 'k'.repeat(32),
    });
  });

  it('reports unknown detectors and options at their keys', () => {
    expect(load('unknown-detector.yaml').diagnostics.map(formatDiagnostic)).toEqual([
      'unknown-detector.yaml:6:7 error processors.redact.detectors unknown key "emial" [CFG_UNKNOWN_KEY]',
      'unknown-detector.yaml:7:5 error processors.redact unknown key "mask_style" [CFG_UNKNOWN_KEY]',
    ]);
  });

  it('requires hash_key when an enabled detector hashes, naming which ones', () => {
    expect(load('hash-without-key.yaml').diagnostics.map(formatDiagnostic)).toEqual([
      'hash-without-key.yaml:4:3 error processors.redact.hash_key hash_key is required because detectors.email, custom_detectors.0 use action hash [CFG_INVALID_VALUE]',
    ]);
  });

  it('rejects a short hash_key', () => {
    expect(load('short-hash-key.yaml').diagnostics.map(formatDiagnostic)).toEqual([
      'short-hash-key.yaml:7:15 error processors.redact.hash_key must be at least 16 characters (use a random secret from ${env:...}) [CFG_OUT_OF_RANGE]',
    ]);
  });

  it('reports every problem with custom detectors at once, each at its line', () => {
    expect(load('bad-custom-detectors.yaml').diagnostics.map(formatDiagnostic)).toEqual([
      'bad-custom-detectors.yaml:6:15 error processors.redact.custom_detectors.0.name must be a snake_case identifier: a-z, 0-9 and _, starting with a letter [CFG_INVALID_VALUE]',
      'bad-custom-detectors.yaml:9:18 error processors.redact.custom_detectors.1.pattern does not compile: Invalid regular expression: /([a-z/: Unterminated character class [CFG_INVALID_VALUE]',
      'bad-custom-detectors.yaml:11:18 error processors.redact.custom_detectors.2.pattern must not match the empty string [CFG_INVALID_VALUE]',
      'bad-custom-detectors.yaml:13:18 error processors.redact.custom_detectors.3.pattern uses a backreference (\\1), which the linear-time regex engine (RE2) cannot run; patterns may not use lookahead (?= (?!, lookbehind (?<= (?<! or backreferences \\1 \\k<name> [CFG_INVALID_VALUE]',
      'bad-custom-detectors.yaml:17:18 error processors.redact.custom_detectors.5.pattern must not use named groups (detectors are combined into one expression); use (?:...) [CFG_INVALID_VALUE]',
      'bad-custom-detectors.yaml:22:17 error processors.redact.custom_detectors.7.action Invalid option: expected one of "mask"|"hash"|"drop" [CFG_INVALID_VALUE]',
      'bad-custom-detectors.yaml:24:18 error processors.redact.custom_detectors.8.pattern uses a lookbehind (?<=...), which the linear-time regex engine (RE2) cannot run; patterns may not use lookahead (?= (?!, lookbehind (?<= (?<! or backreferences \\1 \\k<name> [CFG_INVALID_VALUE]',
      'bad-custom-detectors.yaml:14:15 error processors.redact.custom_detectors.4.name "email" is already the name of a built-in detector [CFG_INVALID_VALUE]',
      'bad-custom-detectors.yaml:20:15 error processors.redact.custom_detectors.7.name "twice" is already the name of another custom detector [CFG_INVALID_VALUE]',
    ]);
  });

  it('does not ask for hash_key when the hashing detector is disabled', () => {
    const result = redactProcessorConfigSchema.safeParse({ detectors: { iban: { enabled: false, action: 'hash' } } });
    expect(result.error?.issues ?? []).toEqual([]);
  });
});
