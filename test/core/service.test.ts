import { loadConfigText } from '../../core/config/load-config';
import { PermanentError } from '../../core/errors';
import { silentLogger } from '../../core/logger';
import { Service } from '../../core/service';
import { makeSpan } from '../../core/span';
import { createRecorder, recordingRegistry } from '../support/recording-components';
import type { Recorder } from '../support/recording-components';

const YAML = `
receivers:
  driven/a:
  driven/b:
processors:
  tagging/x:
  tagging/y:
exporters:
  recording/one:
  recording/two:
service:
  admin:
    listen: 127.0.0.1:0
  pipelines:
    traces/first:
      receivers: [driven/a, driven/b]
      processors: [tagging/x, tagging/y]
      exporters: [recording/one, recording/two]
    traces/second:
      receivers: [driven/a]
      processors: [tagging/x]
      exporters: [recording/two]
`;

async function start(recorder: Recorder, pipelines?: string[]): Promise<Service> {
  const { config, diagnostics } = loadConfigText(YAML, 'graph.yaml', recordingRegistry(recorder), { env: {} });
  expect(diagnostics).toEqual([]);
  const service = new Service(config!, { logger: silentLogger(), pipelines });
  await service.start();
  return service;
}

const span = makeSpan({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'chat' });
const signal = new AbortController().signal;

describe('pipeline graph and service lifecycle', () => {
  it('shares receivers and exporters, instantiates processors per pipeline, and starts exporters first', async () => {
    const recorder = createRecorder();
    const service = await start(recorder);
    expect(service.graph.exporters.size).toBe(2);
    expect(service.graph.receivers.size).toBe(2);
    expect(service.graph.processors.get('traces/first')).toHaveLength(2);
    expect(service.graph.processors.get('traces/second')).toHaveLength(1);
    expect(recorder.events).toEqual([
      'start recording/one',
      'start recording/two',
      'start tagging/x',
      'start tagging/y',
      'start tagging/x',
      'start driven/a',
      'start driven/b',
    ]);
    await service.shutdown();
    expect(recorder.events.slice(7)).toEqual([
      'shutdown driven/b',
      'shutdown driven/a',
      'shutdown tagging/x',
      'shutdown tagging/y',
      'shutdown tagging/x',
      'shutdown recording/two',
      'shutdown recording/one',
    ]);
  });

  it('fans a receiver out to each of its pipelines, processors in order, then every exporter', async () => {
    const recorder = createRecorder();
    const service = await start(recorder);
    await recorder.receivers.get('driven/a')!.consume([span], signal);
    const one = recorder.batches.get('recording/one')!;
    const two = recorder.batches.get('recording/two')!;
    expect(one).toHaveLength(1);
    expect(one[0][0].attributes).toEqual({ 'tag.tagging/x': true, 'tag.tagging/y': true });
    // recording/two is shared: it gets the batch once from each pipeline.
    expect(two.map((b) => Object.keys(b[0].attributes).sort())).toEqual(
      expect.arrayContaining([['tag.tagging/x', 'tag.tagging/y'], ['tag.tagging/x']]),
    );
    // Processors return new spans; the receiver's batch is untouched.
    expect(span.attributes).toEqual({});
    await service.shutdown();
  });

  it('rejects retryably when any exporter fails retryably, permanently only when all failures are permanent', async () => {
    const recorder = createRecorder();
    const service = await start(recorder, ['traces/first']);
    const consumer = recorder.receivers.get('driven/b')!;
    recorder.failures.set('recording/one', 'permanent');
    await expect(consumer.consume([span], signal)).rejects.toBeInstanceOf(PermanentError);
    recorder.failures.set('recording/two', 'retryable');
    await expect(consumer.consume([span], signal)).rejects.toThrow('recording/two is down');
    await service.shutdown();
  });

  it('starts only the selected pipelines', async () => {
    const recorder = createRecorder();
    const service = await start(recorder, ['traces/second']);
    expect([...service.graph.receivers.keys()]).toEqual(['driven/a']);
    expect([...service.graph.exporters.keys()]).toEqual(['recording/two']);
    await service.shutdown();
  });

  it('shuts down safely twice and serves /healthz while running', async () => {
    const recorder = createRecorder();
    const service = await start(recorder);
    const health = await fetch(`http://127.0.0.1:${service.adminPort}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    await Promise.all([service.shutdown(), service.shutdown()]);
    await service.shutdown();
    expect(recorder.events.filter((e) => e === 'shutdown recording/one')).toHaveLength(1);
  });
});

describe('admin actions', () => {
  it('runs a component action on POST /actions/<owner>/<name> and answers its result or error', async () => {
    const service = await start(createRecorder());
    const url = `http://127.0.0.1:${service.adminPort}/actions`;
    const token = service.adminActionToken ?? '';
    const post = (path: string, body: string) => fetch(`${url}/${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });
    try {
      const ok = await post('tagging/x/echo', '{"target":"slack"}');
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ ok: true, result: { echoed: { target: 'slack' } } });
      expect((await post('tagging/x/echo', '{"fail":"permanent"}')).status).toBe(400);
      const down = await post('tagging/x/echo', '{"fail":"retryable"}');
      expect(down.status).toBe(502);
      expect(await down.json()).toEqual({ ok: false, error: 'target is down' });
      expect((await post('tagging/x/echo', '[1]')).status).toBe(400);
      expect((await post('tagging/x/echo', '{')).status).toBe(400);
      expect((await post('tagging/x/nope', '{}')).status).toBe(404);
    } finally {
      await service.shutdown();
    }
  });
});
