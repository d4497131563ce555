import { startDefaultDaemon } from '../support/default-daemon';

test('the default pipelines.yaml starts with every listener on an ephemeral port', async () => {
  const daemon = await startDefaultDaemon();
  try {
    const res = await fetch(`${daemon.adminUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(daemon.service.listenerPorts.get('native')).toBeGreaterThan(0);
  } finally {
    await daemon.stop();
  }
});
