/** What the alert processor does when its store is missing or a windowed query fails. */
import { testRegistry as registry } from '../../support/upstream-stamps';
import { startDaemon, uniqueDatabase } from '../../support/daemon';
import { createRecorder, recordingRegistry } from '../../support/recording-components';
import { action, alertPipelineYaml, eventCount, sendSpans, span } from './support';

describe('alert processor failures', () => {
  it('refuses to start with rules but no clickhouse exporter to keep incidents in', async () => {
    const yaml = alertPipelineYaml('unused', 'rules:\n  - { id: errors, name: Errors, condition: { type: error_status } }').replace(
      /exporters:\n  clickhouse:\n(    .*\n)+/,
      'exporters:\n  recording:\n',
    ).replace('exporters: [clickhouse]', 'exporters: [recording]');
    await expect(startDaemon(yaml, { registry: recordingRegistry(createRecorder(), registry) })).rejects.toThrow(
      /^alert \(pipeline traces\) failed to start: no clickhouse exporter is running: alert rules need one for incidents and windowed conditions$/,
    );
    await expect(
      startDaemon(alertPipelineYaml(uniqueDatabase('alert_store'), 'store: clickhouse/other\nrules:\n  - { id: errors, name: Errors, condition: { type: error_status } }')),
    ).rejects.toThrow(/failed to start: store "clickhouse\/other" is not a running clickhouse exporter: /);
  });

  it('reports a windowed rule whose query fails, counts it, and leaves the other rules working', async () => {
    const daemon = await startDaemon(
      alertPipelineYaml(
        uniqueDatabase('alert_query_error'),
        `
spans_table: no_such_table
rules:
  - { id: slow, name: Slow, condition: { type: latency_avg, threshold_ms: 1, window_seconds: 60 } }
  - { id: errors, name: Errors, condition: { type: error_status } }
`,
      ),
    );
    try {
      expect(await sendSpans(daemon, [span({ status: 'error' })])).toBe(200);
      const round = await action(daemon, 'evaluate');
      expect(round.status).toBe(200);
      expect(round.body.result.errors).toEqual([{ ruleId: 'slow', error: expect.stringContaining('no_such_table') }]);
      expect(round.body.result.firing.map((i: { ruleId: string }) => i.ruleId)).toEqual(['errors']);
      expect(await eventCount(daemon, 'evaluation_error', '')).toBe(1);
    } finally {
      await daemon.stop();
    }
  });
});
