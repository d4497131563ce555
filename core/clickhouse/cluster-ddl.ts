/**
 * DDL for a store that may be a ClickHouse cluster (the clickhouse exporter's `cluster_name`):
 * statements run `ON CLUSTER` and MergeTree-family engines become their Replicated form, with the
 * ZooKeeper path from the standard server macros so the same statement works on every node.
 * Without a cluster both are the plain forms (embedded engine, single server).
 */

/** Backtick-quotes an identifier. */
export function quoteIdent(name: string): string {
  return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

/** ` ON CLUSTER <name>`, or nothing without a cluster. */
export function onClusterClause(clusterName: string | undefined): string {
  return clusterName ? ` ON CLUSTER ${quoteIdent(clusterName)}` : '';
}

/** `ReplacingMergeTree(args)`, or `ReplicatedReplacingMergeTree('<path>', '{replica}', args)` on a cluster. */
export function clusterEngine(clusterName: string | undefined, base: 'MergeTree' | 'ReplacingMergeTree' | 'AggregatingMergeTree', args = ''): string {
  if (!clusterName) return `${base}(${args})`;
  const replicated = `'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'`;
  return `Replicated${base}(${args ? `${replicated}, ${args}` : replicated})`;
}
