// Generates the OTLP protobuf code before any test imports it, so a bare `npx jest` works on a
// fresh clone too (npm test already does this through `npm run typecheck`). A no-op when current.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = async function globalSetup() {
  execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'scripts', 'gen-proto.js')], { stdio: 'inherit' });
};
