import fs from 'node:fs';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { PluginEntity } from '../../entities/plugin.entity';
import { loadErrorMessage, loadPluginEntry, type PluginLoadError } from '../../providers/plugins';
import type { ProviderRegistry } from '../../providers/registry';
import type { Logger } from '../logger';
import { ChannelListener } from './listener';
import { sha512Integrity } from './package-source';
import { entryInside, unpackTo } from './unpack';

/** Channel the `plugins` table's trigger notifies on every install and uninstall. */
export const PLUGIN_CHANNEL = 'plugin_changes';

/** One installed plugin as this process holds it. */
export interface LoadedPlugin {
  id: string;
  package: string;
  version: string;
  providerIds: string[];
  /** Why it is not loaded here (unpacking, integrity or the module itself); its providers are then absent. */
  error?: string;
}

/**
 * The installed plugins of one process (API or worker): loads each installed row of `plugins` into the
 * provider registry from this process's data folder and unloads uninstalled ones, at start and on every
 * NOTIFY. A plugin that fails is reported, never thrown.
 */
export class PluginRuntime {
  private readonly loaded = new Map<string, LoadedPlugin>();
  private chain: Promise<void> = Promise.resolve();
  private listener?: ChannelListener;

  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: ProviderRegistry,
    private readonly dataDir: string,
    private readonly logger: Logger,
    /** Plugins from PROVIDER_PLUGINS that failed at start. */
    private readonly configErrors: PluginLoadError[] = [],
  ) {}

  /** Loads what is installed, then follows changes through PostgreSQL. */
  async start(databaseUrl: string): Promise<void> {
    await this.sync();
    this.listener = new ChannelListener(databaseUrl, PLUGIN_CHANNEL, () => void this.sync(), this.logger);
    await this.listener.start();
    await this.sync(); // anything installed between the first sync and LISTEN
  }

  async stop(): Promise<void> {
    await this.listener?.stop();
    await this.chain;
  }

  /** Brings the registry in line with the table; runs one at a time, never rejects. */
  sync(): Promise<void> {
    this.chain = this.chain.then(() =>
      this.syncOnce().catch((err) => this.logger.error({ err: loadErrorMessage(err) }, 'plugins: could not read the installed plugins')),
    );
    return this.chain;
  }

  /** The plugin as loaded here, if installed. */
  get(id: string): LoadedPlugin | undefined {
    return this.loaded.get(id);
  }

  /** Every plugin that failed to load: from configuration and installed ones. */
  loadErrors(): PluginLoadError[] {
    return [
      ...this.configErrors,
      ...[...this.loaded.values()].filter((p) => p.error).map((p) => ({ plugin: `${p.package}@${p.version}`, error: p.error! })),
    ];
  }

  private folder(id: string): string {
    return path.resolve(this.dataDir, 'plugins', id);
  }

  private async syncOnce(): Promise<void> {
    const installed = await this.dataSource
      .getRepository(PluginEntity)
      .createQueryBuilder('p')
      .select(['p.id', 'p.package', 'p.version', 'p.integrity'])
      .where('p.uninstalled_at IS NULL')
      .getMany();
    const ids = new Set(installed.map((p) => p.id));
    for (const id of [...this.loaded.keys()]) if (!ids.has(id)) this.unload(id);
    for (const row of installed) if (!this.loaded.has(row.id)) await this.load(row);
  }

  private async load(row: PluginEntity): Promise<void> {
    const state: LoadedPlugin = { id: row.id, package: row.package, version: row.version, providerIds: [] };
    try {
      const dir = this.folder(row.id);
      if (!fs.existsSync(path.join(dir, 'package.json'))) {
        const { tarball } = (await this.dataSource
          .getRepository(PluginEntity)
          .createQueryBuilder('p')
          .addSelect('p.tarball')
          .where('p.id = :id', { id: row.id })
          .getOne()) as PluginEntity;
        if (sha512Integrity(tarball) !== row.integrity) throw new Error('the stored tarball does not match its recorded integrity');
        await unpackTo(tarball, dir);
      }
      entryInside(dir);
      state.providerIds = loadPluginEntry(dir, this.registry, row.package);
      this.logger.info({ pluginId: row.id, plugin: row.package, version: row.version, providers: state.providerIds }, 'provider plugin loaded');
    } catch (err) {
      state.error = loadErrorMessage(err);
      this.logger.error({ plugin: row.package, version: row.version, error: state.error }, 'provider plugin failed to load');
    }
    this.loaded.set(row.id, state);
  }

  private unload(id: string): void {
    const state = this.loaded.get(id)!;
    for (const p of state.providerIds) this.registry.unregister(p);
    const dir = this.folder(id) + path.sep;
    for (const key of Object.keys(require.cache)) if (key.startsWith(dir)) delete require.cache[key];
    fs.rmSync(this.folder(id), { recursive: true, force: true });
    this.loaded.delete(id);
    this.logger.info({ pluginId: id, plugin: state.package, version: state.version }, 'provider plugin unloaded');
  }
}
