/**
 * An incident's life through the real daemon: a windowed latency condition computed from
 * ClickHouse opens it, further rounds keep it without paging again, the condition clearing
 * resolves it, a re-notify interval of 0 re-sends it every round, and a restarted daemon takes
 * back the incidents that were firing.
 */
import { startDaemon, uniqueDatabase, type TestDaemon } from '../../support/daemon';
import { action, alertPipelineYaml, eventCount, incidentRows, sendSpans, span, startHttpStandIn, waitFor, type HttpStandIn } from './support';

const kinds = (standIn: HttpStandIn) => standIn.posts.map((p) => /^\S+ \[\w+\] .*? (still firing|firing|resolved):/.exec(p.body.text)?.[1]);

describe('a windowed latency incident', () => {
  const database = uniqueDatabase('alert_lifecycle');
  let slack: HttpStandIn;
  let daemon: TestDaemon;

  beforeAll(async () => {
    slack = await startHttpStandIn();
    daemon = await startDaemon(
      alertPipelineYaml(
        database,
        `
delivery: { allow_private_addresses: true }
cooldown_seconds: 0
targets:
  slack-oncall: { type: slack, webhook_url: "${slack.url}/services/T000/B000/XXXX" }
rules:
  - id: slow-chat
    name: Slow chat
    severity: high
    targets: [slack-oncall]
    condition: { type: latency_avg, threshold_ms: 1000, window_seconds: 300 }
    group_by: [model]
`,
      ),
    );
  });

  afterAll(async () => {
    await daemon?.stop();
    await slack?.close();
  });

  let incidentId: string;

  it('fires from the stored durations, with the value, the incident row and the Slack post', async () => {
    const slow = [span({ durationMs: 1200 }), span({ durationMs: 2400 }), span({ durationMs: 3000 })];
    expect(await sendSpans(daemon, [...slow, span({ durationMs: 50, attributes: { 'gen_ai.request.model': 'gpt-4o-mini' } })])).toBe(200);
    const round = await action(daemon, 'evaluate');
    expect(round.status).toBe(200);
    const [incident] = round.body.result.firing;
    expect(round.body.result.firing).toHaveLength(1);
    expect(incident).toMatchObject({ ruleId: 'slow-chat', status: 'firing', group: { model: 'gpt-4o' }, value: 2200, threshold: 1000 });
    expect(incident.exampleTraceIds).toEqual([slow[2].traceId, slow[1].traceId, slow[0].traceId]);
    incidentId = incident.incidentId;

    const rows = await incidentRows(daemon, database);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ incident_id: incidentId, status: 'firing', value: 2200, threshold: 1000, severity: 'high', condition: 'avg latency over 5 min > 1000 ms' });

    await waitFor('the Slack post', () => slack.posts.length === 1);
    expect(slack.posts[0].body.text).toBe(':rotating_light: [HIGH] Slow chat firing: model=gpt-4o — avg latency over 5 min &gt; 1000 ms: 2200 ms (threshold 1000 ms)');
  });

  it('does not page again while the incident keeps firing', async () => {
    expect(await sendSpans(daemon, [span({ durationMs: 1400 })])).toBe(200);
    const second = await action(daemon, 'evaluate');
    const third = await action(daemon, 'evaluate');
    expect(second.body.result.firing.map((i: { incidentId: string }) => i.incidentId)).toEqual([incidentId]);
    expect(third.body.result.firing[0]).toMatchObject({ incidentId, value: 2000 });
    expect(await eventCount(daemon, 'incident', 'updated')).toBe(0);
    const [row] = await incidentRows(daemon, database);
    expect(row).toMatchObject({ incident_id: incidentId, status: 'firing', value: 2000 });
  });

  it('resolves once the condition clears (cooldown 0) and says so', async () => {
    // Fast calls pull the mean under the threshold: (1200+2400+3000+1400+8*10)/12 = 673.3 ms.
    expect(await sendSpans(daemon, Array.from({ length: 8 }, () => span({ durationMs: 10 })))).toBe(200);
    const round = await action(daemon, 'evaluate');
    expect(round.body.result.firing).toEqual([]);
    expect(round.body.result.resolved).toEqual([expect.objectContaining({ incidentId, status: 'resolved', resolvedAt: round.body.result.evaluatedAt })]);

    const [row] = await incidentRows(daemon, database);
    expect(row).toMatchObject({ incident_id: incidentId, status: 'resolved' });
    expect(row.resolved_at).not.toBeNull();

    await waitFor('the resolved post', () => slack.posts.length === 2);
    // Exactly one page for the opening and one for the resolution: the rounds in between sent nothing.
    expect(kinds(slack)).toEqual(['firing', 'resolved']);
    expect(slack.posts[1].body.text).toMatch(/^:white_check_mark: \[HIGH\] Slow chat resolved: model=gpt-4o/);
  });
});

describe('re-notifying and restarts', () => {
  it('evaluates windowed rules on its own schedule', async () => {
    const slack = await startHttpStandIn();
    const database = uniqueDatabase('alert_schedule');
    const daemon = await startDaemon(
      alertPipelineYaml(
        database,
        `
delivery: { allow_private_addresses: true }
evaluation_interval_seconds: 1
targets:
  slack-oncall: { type: slack, webhook_url: "${slack.url}/hook" }
rules:
  - { id: slow, name: Slow, targets: [slack-oncall], condition: { type: latency_avg, threshold_ms: 100, window_seconds: 60 } }
`,
      ),
    );
    try {
      expect(await sendSpans(daemon, [span({ durationMs: 500 })])).toBe(200);
      // No evaluate action: the timer's round finds it.
      await waitFor('the scheduled page', () => slack.posts.length === 1);
      expect(slack.posts[0].body.text).toMatch(/^:rotating_light: \[MEDIUM\] Slow firing: all spans — avg latency over 1 min &gt; 100 ms: 500 ms/);
      expect((await incidentRows(daemon, database)).map((r) => [r.rule_id, r.status])).toEqual([['slow', 'firing']]);
    } finally {
      await daemon.stop();
      await slack.close();
    }
  });

  it('resolves a per-span incident once no matching span came for the cooldown', async () => {
    const slack = await startHttpStandIn();
    const database = uniqueDatabase('alert_quiet');
    const daemon = await startDaemon(
      alertPipelineYaml(
        database,
        `
delivery: { allow_private_addresses: true }
cooldown_seconds: 0
targets:
  slack-oncall: { type: slack, webhook_url: "${slack.url}/hook" }
rules:
  - { id: errors, name: Errors, targets: [slack-oncall], condition: { type: error_status } }
`,
      ),
    );
    try {
      expect(await sendSpans(daemon, [span({ status: 'error' })])).toBe(200);
      const round = await action(daemon, 'evaluate');
      expect(round.body.result.resolved).toEqual([expect.objectContaining({ ruleId: 'errors', status: 'resolved' })]);
      expect((await incidentRows(daemon, database)).map((r) => r.status)).toEqual(['resolved']);
      await waitFor('two posts', () => slack.posts.length === 2);
      expect(kinds(slack).sort()).toEqual(['firing', 'resolved']);
    } finally {
      await daemon.stop();
      await slack.close();
    }
  });

  it('re-sends a still-firing incident every round when renotify_interval_seconds is 0', async () => {
    const slack = await startHttpStandIn();
    const database = uniqueDatabase('alert_renotify');
    const daemon = await startDaemon(
      alertPipelineYaml(
        database,
        `
delivery: { allow_private_addresses: true }
renotify_interval_seconds: 0
targets:
  slack-oncall: { type: slack, webhook_url: "${slack.url}/hook" }
rules:
  - { id: busy, name: Busy, targets: [slack-oncall], condition: { type: span_count, threshold: 0, window_seconds: 300 } }
`,
      ),
    );
    try {
      expect(await sendSpans(daemon, [span()])).toBe(200);
      await action(daemon, 'evaluate');
      await action(daemon, 'evaluate');
      await waitFor('two posts', () => slack.posts.length === 2);
      expect(kinds(slack).sort()).toEqual(['firing', 'still firing']);
    } finally {
      await daemon.stop();
      await slack.close();
    }
  });

  it('loads firing incidents back on start, so a restart neither forgets nor re-pages them', async () => {
    const slack = await startHttpStandIn();
    const database = uniqueDatabase('alert_restart');
    const yaml = alertPipelineYaml(
      database,
      `
delivery: { allow_private_addresses: true }
targets:
  slack-oncall: { type: slack, webhook_url: "${slack.url}/hook" }
rules:
  - { id: errors, name: Errors, targets: [slack-oncall], condition: { type: error_status }, group_by: [workspace] }
`,
    );
    const first = await startDaemon(yaml);
    let incidentId: string;
    try {
      expect(await sendSpans(first, [span({ status: 'error' })])).toBe(200);
      const [row] = await waitFor('the incident row', async () => {
        const rows = await incidentRows(first, database);
        return rows.length === 1 ? rows : undefined;
      });
      incidentId = row.incident_id;
      await waitFor('the first page', () => slack.posts.length === 1);
    } finally {
      await first.stop();
    }

    const second = await startDaemon(yaml);
    try {
      const round = await action(second, 'evaluate');
      expect(round.body.result.firing).toEqual([expect.objectContaining({ incidentId, ruleId: 'errors', group: { workspace: 'acme' }, value: 1 })]);
      expect(await sendSpans(second, [span({ status: 'error' })])).toBe(200);
      expect(await eventCount(second, 'incident', 'firing')).toBe(0);
      const row = await waitFor('the same incident, counted on', async () => {
        const rows = await incidentRows(second, database);
        return rows.length === 1 && rows[0].value === 2 ? rows[0] : undefined;
      });
      expect(row.incident_id).toBe(incidentId);
      expect(slack.posts).toHaveLength(1);
    } finally {
      await second.stop();
      await slack.close();
    }
  });

  it('closes, without paging, incidents whose rule left the config', async () => {
    const slack = await startHttpStandIn();
    const database = uniqueDatabase('alert_retire');
    const withRule = (rules: string) =>
      alertPipelineYaml(
        database,
        `
delivery: { allow_private_addresses: true }
targets:
  slack-oncall: { type: slack, webhook_url: "${slack.url}/hook" }
rules:
${rules}`,
      );
    const first = await startDaemon(
      withRule(`  - { id: errors, name: Errors, targets: [slack-oncall], condition: { type: error_status } }
  - { id: costly, name: Costly, targets: [slack-oncall], condition: { type: cost_above, threshold_usd: 1 } }`),
    );
    try {
      expect(await sendSpans(first, [span({ status: 'error' })])).toBe(200);
      await waitFor('the incident row', async () => (await incidentRows(first, database)).length === 1);
    } finally {
      await first.stop();
    }
    const second = await startDaemon(withRule('  - { id: costly, name: Costly, targets: [slack-oncall], condition: { type: cost_above, threshold_usd: 1 } }'));
    try {
      const round = await action(second, 'evaluate');
      expect(round.body.result.firing).toEqual([]);
      const [row] = await incidentRows(second, database);
      expect(row).toMatchObject({ rule_id: 'errors', status: 'resolved' });
      await waitFor('the first page', () => slack.posts.length === 1);
      expect(await eventCount(second, 'incident', 'resolved')).toBe(0);
    } finally {
      await second.stop();
      await slack.close();
    }
  });
});
