#!/usr/bin/env node
'use strict';
/**
 * Generates the static protobufjs codec for the OTLP trace protocol from core/otlp/proto into
 * core/otlp/generated/otlp.{js,d.ts}. The output is gitignored, so this runs before typecheck,
 * build and tests; it is a no-op when the outputs are newer than every input.
 *
 *   node scripts/gen-proto.js          generate if stale
 *   node scripts/gen-proto.js --force  always generate
 *   node scripts/gen-proto.js --dist   also copy the output into dist/ (tsc does not copy .js files)
 */
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const protoDir = path.join(root, 'core/otlp/proto');
const outDir = path.join(root, 'core/otlp/generated');
const outJs = path.join(outDir, 'otlp.js');
const outDts = path.join(outDir, 'otlp.d.ts');
const distDir = path.join(root, 'dist/core/otlp/generated');

// Everything else is pulled in through imports; listing the entry points keeps the root minimal.
const entryFiles = [
  'opentelemetry/proto/collector/trace/v1/trace_service.proto',
  'google/rpc/status.proto',
  'google/rpc/error_details.proto',
];

// Static code needs only encode + decode: verify/convert/delimited/typeurl nearly double the file
// with functions nobody calls (core/otlp converts to and from the span model itself).
const pbjsArgs = [
  '-t', 'static-module',
  '-w', 'commonjs',
  '--no-verify',
  '--no-convert',
  '--no-delimited',
  '--no-typeurl',
  // A private root name keeps these types apart from any other static protobufjs code in-process.
  '-r', 'tracehouse_otlp',
  '-p', protoDir,
];

function listProtos(dir) {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listProtos(full));
    else if (entry.name.endsWith('.proto')) found.push(full);
  }
  return found;
}

function mtimeOrZero(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function isStale() {
  // The script is an input too: changing pbjs flags must regenerate.
  const inputs = [...listProtos(protoDir), __filename];
  const newestInput = Math.max(...inputs.map(mtimeOrZero));
  const oldestOutput = Math.min(mtimeOrZero(outJs), mtimeOrZero(outDts));
  return oldestOutput === 0 || oldestOutput <= newestInput;
}

/**
 * protobufjs's oneof setter, run for every decoded AnyValue, `delete`s each other member of the
 * oneof by a computed key; `delete` is a runtime call in V8, and this made up a quarter of OTLP
 * decode time. Each oneof gets a setter written out member by member instead, which deletes only
 * members that are actually set: the same "last member on the wire wins", at the cost of a few
 * property reads.
 */
const ONEOF_RE = /get: \$util\.oneOfGetter\(\$oneOfFields = (\[[^\]]*\])\),(\s*)set: \$util\.oneOfSetter\(\$oneOfFields\)/g;

function specializeOneofSetters(file) {
  const code = fs.readFileSync(file, 'utf8');
  let count = 0;
  const patched = code.replace(ONEOF_RE, (match, list, space) => {
    count++;
    const checks = JSON.parse(list)
      .map((f) => `if (name !== "${f}" && this.${f} != null) delete this.${f};`)
      .join(' ');
    return `get: $util.oneOfGetter($oneOfFields = ${list}),${space}set: function(name) { ${checks} }`;
  });
  if (count === 0 || patched.includes('$util.oneOfSetter(')) {
    throw new Error('generated oneof setters no longer match the pattern in scripts/gen-proto.js');
  }
  fs.writeFileSync(file, patched);
}

function runPbjs(tmpJs) {
  const { pbjs } = require('protobufjs-cli');
  const args = [...pbjsArgs, '-o', tmpJs, '--dts', ...entryFiles.map((f) => path.join(protoDir, f))];
  return new Promise((resolve, reject) => {
    pbjs.main(args, (err) => (err ? reject(err) : resolve()));
  });
}

async function generate() {
  fs.mkdirSync(outDir, { recursive: true });
  // Write under temporary names and rename at the end, so an interrupted run never leaves a
  // half-written file whose fresh mtime would make later runs skip generation.
  const tmpJs = path.join(outDir, `.otlp-${process.pid}.js`);
  const tmpDts = path.join(outDir, `.otlp-${process.pid}.d.ts`);
  try {
    await runPbjs(tmpJs);
    specializeOneofSetters(tmpJs);
    fs.renameSync(tmpDts, outDts);
    fs.renameSync(tmpJs, outJs);
  } finally {
    fs.rmSync(tmpJs, { force: true });
    fs.rmSync(tmpDts, { force: true });
  }
}

function copyToDist() {
  fs.mkdirSync(distDir, { recursive: true });
  fs.copyFileSync(outJs, path.join(distDir, 'otlp.js'));
  fs.copyFileSync(outDts, path.join(distDir, 'otlp.d.ts'));
}

async function main() {
  const argv = process.argv.slice(2);
  const force = argv.includes('--force');
  if (force || isStale()) {
    const started = Date.now();
    await generate();
    console.log(`gen-proto: wrote ${path.relative(root, outJs)} and .d.ts in ${Date.now() - started} ms`);
  }
  if (argv.includes('--dist')) copyToDist();
}

main().catch((err) => {
  console.error(`gen-proto: ${err && err.stack ? err.stack : err}`);
  process.exitCode = 1;
});
