import { readFileSync } from 'node:fs';
import path from 'node:path';
import { processDataDir, startDaemon, type TestDaemon } from './daemon';

/** The key of the default config's development workspace, as the security tests set it. */
export const DEFAULT_CONFIG_KEY = 'th_security_suite_key_0123456789';

/** The environment that puts the default config on ephemeral loopback ports and this process's data directory. */
export function defaultConfigEnv(): NodeJS.ProcessEnv {
  return {
    TRACEHOUSE_OTLP_HTTP_LISTEN: '127.0.0.1:0',
    TRACEHOUSE_OTLP_GRPC_LISTEN: '127.0.0.1:0',
    TRACEHOUSE_INGEST_LISTEN: '127.0.0.1:0',
    TRACEHOUSE_ADMIN_LISTEN: '127.0.0.1:0',
    TRACEHOUSE_DATA_DIR: processDataDir,
    TRACEHOUSE_ATTACHMENTS_DIR: path.join(processDataDir, 'attachments'),
    TRACEHOUSE_API_KEY: DEFAULT_CONFIG_KEY,
  };
}

/** The repository's own pipelines.yaml, what `npm start` runs. */
export function defaultPipelinesYaml(): string {
  return readFileSync(path.join(__dirname, '..', '..', 'pipelines.yaml'), 'utf8');
}

/**
 * Starts the daemon on the repository's own pipelines.yaml with every listener on an ephemeral
 * loopback port, the embedded engine in this test process's data directory and attachments beside it.
 */
export async function startDefaultDaemon(env: NodeJS.ProcessEnv = {}): Promise<TestDaemon> {
  return startDaemon(defaultPipelinesYaml(), { env: { ...defaultConfigEnv(), ...env } });
}
