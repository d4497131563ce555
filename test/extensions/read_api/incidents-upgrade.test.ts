/**
 * Incidents stored before incidents had a workspace: the alert processor adds the column at start
 * (ALTER TABLE … ADD COLUMN IF NOT EXISTS), older rows take the workspace their group names, and
 * the read API lists them for that workspace (a global one for none). Also the rule for which
 * workspace a new incident belongs to.
 */
import { incidentWorkspace } from '../../../processors/alert/incidents';
import { processDataDir, queryRows, startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { createHarness } from '../../exporters/clickhouse/support';
import { waitFor } from '../../support/wait';
import { apiCall } from '../control_plane/api-client';

const KEY = 'inc_upgrade_acme_key_0123456789a';
const OTHER_KEY = 'inc_upgrade_other_key_012345678';

/** The incidents table as the alert processor made it before the workspace column. */
const OLD_DDL = (database: string) => `CREATE TABLE ${database}.tracehouse_incidents (
    incident_id String, rule_id String, rule_name String,
    severity LowCardinality(String), status LowCardinality(String),
    group_key String, \`group\` Map(String, String), condition String,
    value Float64, threshold Float64,
    first_seen DateTime64(3), last_seen DateTime64(3), resolved_at Nullable(DateTime64(3)),
    example_trace_ids Array(String), updated_at DateTime64(3)
) ENGINE = ReplacingMergeTree(updated_at) ORDER BY incident_id`;

const LEGACY_ACME = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const LEGACY_GLOBAL = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

function oldRow(id: string, group: Record<string, string>, status: string) {
  const t = Date.now() - 60_000;
  return {
    incident_id: id,
    rule_id: 'legacy-rule',
    rule_name: 'Legacy rule',
    severity: 'medium',
    status,
    group_key: JSON.stringify(Object.entries(group)),
    group,
    condition: 'span status error',
    value: 1,
    threshold: 0,
    first_seen: t,
    last_seen: t,
    resolved_at: status === 'resolved' ? t : null,
    example_trace_ids: [],
    updated_at: t,
  };
}

describe('incidents stored before the workspace column', () => {
  let daemon: TestDaemon;
  const database = uniqueDatabase('incidents_upgrade');

  beforeAll(async () => {
    const harness = createHarness({ path: processDataDir, database });
    await harness.exporter.start(harness.host);
    const store = harness.host.store();
    if (!store) throw new Error('no store');
    await store.command(OLD_DDL(database));
    await store.insertRows('tracehouse_incidents', [oldRow(LEGACY_ACME, { workspace: 'acme' }, 'firing'), oldRow(LEGACY_GLOBAL, {}, 'resolved')]);
    await harness.exporter.shutdown();

    daemon = await startDaemon(`receivers:
  logs:
    listen: 127.0.0.1:0
    attachments_dir: \${env:TEST_DATA_DIR}/attachments
processors:
  alert:
    evaluation_interval_seconds: 3600
    rules:
      - { id: errors, name: Errors, condition: { type: error_status }, group_by: [workspace] }
exporters:
  clickhouse:
    path: \${env:TEST_DATA_DIR}
    database: ${database}
extensions:
  read_api:
    listen: 127.0.0.1:0
workspaces:
  acme: { api_keys: ["${KEY}"] }
  other: { api_keys: ["${OTHER_KEY}"] }
service:
  extensions: [read_api]
  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [logs], processors: [alert], exporters: [clickhouse] }
`);
  });
  afterAll(async () => {
    await daemon?.stop();
  });

  it('adds the column and lists older incidents for the workspace their group names', async () => {
    const base = daemon.receiverUrl('read_api');
    // Its rule is gone from the config, so the processor closes it at start (written in the background).
    const list = await waitFor('the legacy incident closed', async () => {
      const answer = await apiCall(base, 'GET', '/v1/workspaces/acme/incidents', KEY);
      return answer.status === 200 && answer.body.data[0]?.status === 'resolved' ? answer : undefined;
    });
    expect(list.body.data.map((i: any) => i.incident_id)).toEqual([LEGACY_ACME]);
    // Closing it kept its workspace.
    expect(list.body.data[0]).toMatchObject({ status: 'resolved', rule: { id: 'legacy-rule' }, group: { workspace: 'acme' } });
    expect((await apiCall(base, 'GET', `/v1/workspaces/acme/incidents/${LEGACY_GLOBAL}`, KEY)).status).toBe(404);
    expect((await apiCall(base, 'GET', '/v1/workspaces/other/incidents', OTHER_KEY)).body.total).toBe(0);
    const rows = await queryRows<{ incident_id: string; workspace: string }>(daemon, 'SELECT incident_id, workspace FROM tracehouse_incidents ORDER BY incident_id', database);
    expect(rows).toEqual([
      { incident_id: LEGACY_ACME, workspace: 'acme' },
      { incident_id: LEGACY_GLOBAL, workspace: '' },
    ]);
  });
});

describe('incidentWorkspace', () => {
  it("takes a managed rule's workspace, else the file rule's filter, else its group's, else none", () => {
    expect(incidentWorkspace('acme', undefined, {})).toBe('acme');
    expect(incidentWorkspace('acme', 'other', { workspace: 'x' })).toBe('acme');
    expect(incidentWorkspace('*', 'other', { workspace: 'x' })).toBe('other');
    expect(incidentWorkspace('*', undefined, { workspace: 'x', model: 'gpt-4o' })).toBe('x');
    expect(incidentWorkspace('*', undefined, { model: 'gpt-4o' })).toBe('');
    expect(incidentWorkspace('*', undefined, {})).toBe('');
  });
});
