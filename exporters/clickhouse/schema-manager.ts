import type { ClickhouseConnection } from './connection';
import {
  appliedVersionsQuery,
  attributeValueIndexStatements,
  createDatabaseStatement,
  createMigrationsTableStatement,
  fsyncEnabled,
  fsyncMentioned,
  MIGRATIONS,
  modifyFsyncStatement,
  modifyTableSettingStatement,
  recordMigrationStatement,
  skipIndexesQuery,
  tableSettingSet,
  tableSettingsQuery,
  type SchemaOptions,
} from './schema';

/** Applies pending migrations once per connection; a failed attempt is retried by the next call. */
export class SchemaManager {
  private ready: Promise<void> | undefined;

  constructor(
    private readonly connection: ClickhouseConnection,
    private readonly options: SchemaOptions,
  ) {}

  ensure(): Promise<void> {
    if (!this.ready) {
      const attempt = this.migrate();
      this.ready = attempt;
      attempt.catch(() => {
        if (this.ready === attempt) this.ready = undefined;
      });
    }
    return this.ready;
  }

  /** Versions recorded for this table, ascending. */
  async appliedVersions(): Promise<number[]> {
    const text = await this.connection.select(appliedVersionsQuery(this.options), 'JSONEachRow');
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => Number((JSON.parse(line) as { version: number | string }).version));
  }

  private async migrate(): Promise<void> {
    // `default` always exists, and creating it ON CLUSTER would need rights the exporter may lack.
    if (this.options.database !== 'default') {
      await this.connection.command(createDatabaseStatement(this.options));
    }
    await this.connection.command(createMigrationsTableStatement(this.options));
    const applied = new Set(await this.appliedVersions());
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      for (const statement of migration.statements(this.options)) {
        await this.connection.command(statement);
      }
      await this.connection.command(recordMigrationStatement(this.options, migration));
    }
    await this.applyTableSettings();
    await this.applyAttributeValueIndexes();
  }

  private async applyAttributeValueIndexes(): Promise<void> {
    const text = await this.connection.select(skipIndexesQuery(this.options), 'JSONEachRow');
    const present = new Set(text.split('\n').filter((line) => line.trim() !== '').map((line) => (JSON.parse(line) as { name: string }).name));
    for (const statement of attributeValueIndexStatements(this.options, present)) await this.connection.command(statement);
  }

  /**
   * Tables created earlier keep the settings they were created with: turn fsync on (or back off)
   * where it differs from fsync_after_insert, and set the spans table's own settings when some are
   * wanted. Metadata-only changes; new parts and merges follow them.
   */
  private async applyTableSettings(): Promise<void> {
    const wanted = this.options.fsyncAfterInsert === true;
    const spansSettings = Object.entries(this.options.spansTableSettings ?? {});
    const text = await this.connection.select(tableSettingsQuery(this.options), 'JSONEachRow');
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const { name, engine_full: engine } = JSON.parse(line) as { name: string; engine_full: string };
      const matches = wanted ? fsyncEnabled(engine) : !fsyncMentioned(engine);
      if (!matches) await this.connection.command(modifyFsyncStatement(this.options, name, wanted));
      if (name !== this.options.table) continue;
      for (const [setting, value] of spansSettings) {
        if (!tableSettingSet(engine, setting, value)) await this.connection.command(modifyTableSettingStatement(this.options, setting, value));
      }
    }
  }
}
