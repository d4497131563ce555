/**
 * scripts/gen-proto.js in a fresh copy of the project (so the real generated files and dist/ are
 * left alone): generates, copies to dist with --dist, and is a no-op while outputs are fresh.
 */
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';

const repo = path.join(__dirname, '../../..');

function run(cwd: string, ...args: string[]): string {
  return execFileSync(process.execPath, [path.join(cwd, 'scripts/gen-proto.js'), ...args], { cwd, encoding: 'utf8' });
}

describe('scripts/gen-proto.js', () => {
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gen-proto-'));
    fs.mkdirSync(path.join(dir, 'scripts'));
    fs.copyFileSync(path.join(repo, 'scripts/gen-proto.js'), path.join(dir, 'scripts/gen-proto.js'));
    fs.cpSync(path.join(repo, 'core/otlp/proto'), path.join(dir, 'core/otlp/proto'), { recursive: true });
    fs.symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  });

  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('generates static code and declarations, then skips while they are newer than the protos', () => {
    const js = path.join(dir, 'core/otlp/generated/otlp.js');
    const dts = path.join(dir, 'core/otlp/generated/otlp.d.ts');
    expect(run(dir, '--dist')).toMatch(/wrote core\/otlp\/generated\/otlp\.js/);

    const code = fs.readFileSync(js, 'utf8');
    expect(code).toContain('ExportTraceServiceRequest.decode = function');
    expect(code).not.toContain('.fromObject = function'); // --no-convert
    expect(fs.readFileSync(dts, 'utf8')).toContain('class ExportTraceServiceRequest');
    expect(fs.readFileSync(path.join(dir, 'dist/core/otlp/generated/otlp.js'), 'utf8')).toBe(code);
    expect(fs.readdirSync(path.dirname(js)).sort()).toEqual(['otlp.d.ts', 'otlp.js']);

    const before = fs.statSync(js).mtimeMs;
    expect(run(dir)).toBe('');
    expect(fs.statSync(js).mtimeMs).toBe(before);

    // A proto edited after generation makes the outputs stale.
    const proto = path.join(dir, 'core/otlp/proto/google/rpc/status.proto');
    const later = new Date(before + 5000);
    fs.utimesSync(proto, later, later);
    expect(run(dir)).toMatch(/wrote/);
    expect(fs.statSync(js).mtimeMs).toBeGreaterThan(before);
  });

  it('loads as a CommonJS module that encodes and decodes', () => {
    const generated = require(path.join(dir, 'core/otlp/generated/otlp.js'));
    const Status = generated.google.rpc.Status;
    const decoded = Status.decode(Status.encode({ code: 5, message: 'x' }).finish());
    expect([decoded.code, decoded.message]).toEqual([5, 'x']);
  });
});
