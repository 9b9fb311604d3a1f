import fs from 'node:fs';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { PluginEntity } from '../../entities/plugin.entity';
import type { HubEvents } from '../catalogue/hub-events';
import { hubEmissionId } from '../targets/health';
import { loadErrorMessage, type PluginLoadError } from '../../providers/plugins';
import type { ProviderRegistry } from '../../providers/registry';
import type { Logger } from '../logger';
import { isPluginHostFailure, type PluginHostSettings } from './host-client';
import { ChannelListener } from './listener';
import { sha512Integrity } from './package-source';
import { PluginHost, remoteDefinition } from './remote-provider';
import { entryInside, unpackTo } from './unpack';

/** Channel the `plugins` table's trigger notifies on every install and uninstall. */
const PLUGIN_CHANNEL = 'plugin_changes';

/** The reason a plugin's subscriptions are paused with when it is disabled; a reinstall resumes them. */
export const pausedByFailing = (pkg: string) => `provider plugin ${pkg} kept crashing and was disabled`;

/** One installed plugin as this process holds it. */
export interface LoadedPlugin {
  id: string;
  package: string;
  version: string;
  providerIds: string[];
  /** Why it is not loaded here (unpacking, integrity or the module itself); its providers are then absent. */
  error?: string;
  /** Its host crashed while loading: loaded again at this time (ms). */
  retryAt?: number;
}

/** The defaults of PLUGIN_* host settings (src/config.ts), for processes built without a config. */
export const DEFAULT_HOST_SETTINGS: PluginHostSettings = { runAsUser: 'nobody', maxMemoryMb: 256, callTimeoutMs: 30_000, maxCrashes: 3, crashWindowMs: 600_000 };

/**
 * The installed plugins of one process (API or worker): each runs in its own plugin host (a child process,
 * src/plugins/host.ts); its providers are registered here as calls to that host. Follows the `plugins`
 * table at start and on every NOTIFY: an uninstalled or disabled plugin's host is stopped and its providers
 * removed. A host that keeps crashing disables its plugin (every process then stops it). A plugin that fails
 * is reported, never thrown.
 */
export class PluginRuntime {
  private readonly loaded = new Map<string, LoadedPlugin>();
  private readonly hosts = new Map<string, PluginHost>();
  private chain: Promise<void> = Promise.resolve();
  private listener?: ChannelListener;
  private retryTimer?: NodeJS.Timeout;
  private hubEvents?: HubEvents;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: ProviderRegistry,
    private readonly dataDir: string,
    private readonly logger: Logger,
    /** Plugins from PROVIDER_PLUGINS that failed at start. */
    private readonly configErrors: PluginLoadError[] = [],
    private readonly hostSettings: PluginHostSettings = DEFAULT_HOST_SETTINGS,
  ) {}

  /** Where `hub.plugin.failing` goes when this process disables a plugin. */
  useHubEvents(events: HubEvents): void {
    this.hubEvents = events;
  }

  /** Loads what is installed, then follows changes through PostgreSQL. */
  async start(databaseUrl: string): Promise<void> {
    await this.sync();
    this.listener = new ChannelListener(databaseUrl, PLUGIN_CHANNEL, () => void this.sync(), this.logger);
    await this.listener.start();
    await this.sync(); // anything installed between the first sync and LISTEN
  }

  /** Stops following changes and every plugin host of this process. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.listener?.stop();
    await this.chain;
    for (const host of this.hosts.values()) host.stop();
    this.hosts.clear();
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

  /** The pid of the plugin's host in this process, when one runs (tests, diagnostics). */
  hostPid(id: string): number | undefined {
    return this.hosts.get(id)?.pid;
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
    if (this.stopped) return;
    const installed = await this.dataSource
      .getRepository(PluginEntity)
      .createQueryBuilder('p')
      .select(['p.id', 'p.package', 'p.version', 'p.integrity', 'p.providers'])
      .where('p.uninstalled_at IS NULL AND p.disabled_at IS NULL')
      .getMany();
    const ids = new Set(installed.map((p) => p.id));
    for (const id of [...this.loaded.keys()]) if (!ids.has(id)) this.unload(id);
    const now = Date.now();
    for (const row of installed) {
      const state = this.loaded.get(row.id);
      if (!state || (state.retryAt !== undefined && state.retryAt <= now)) await this.load(row);
    }
    this.scheduleRetry();
  }

  /** Loads again, once its backoff passed, a plugin whose host crashed while loading. */
  private scheduleRetry(): void {
    clearTimeout(this.retryTimer);
    const next = Math.min(...[...this.loaded.values()].map((p) => p.retryAt ?? Infinity));
    if (!Number.isFinite(next) || this.stopped) return;
    this.retryTimer = setTimeout(() => void this.sync(), Math.max(0, next - Date.now()) + 10);
  }

  private async load(row: PluginEntity): Promise<void> {
    const state: LoadedPlugin = { id: row.id, package: row.package, version: row.version, providerIds: [] };
    const source = `${row.package}@${row.version}`;
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
      let host = this.hosts.get(row.id);
      if (!host) {
        host = new PluginHost(row.id, dir, this.hostSettings, this.logger, (reason) => void this.disable(row, reason));
        this.hosts.set(row.id, host);
      }
      const described = await host.describe();
      const done: string[] = [];
      try {
        for (const desc of described) {
          this.registry.register(remoteDefinition(desc, host), source, { config: desc.configJsonSchema, connection: desc.connectionJsonSchema });
          done.push(desc.id);
        }
      } catch (err) {
        for (const id of done) this.registry.unregister(id);
        throw err;
      }
      state.providerIds = done;
      this.logger.info({ pluginId: row.id, plugin: row.package, version: row.version, providers: state.providerIds, pid: host.pid }, 'provider plugin loaded');
    } catch (err) {
      state.error = loadErrorMessage(err);
      if (isPluginHostFailure(err) && !this.stopped) {
        state.retryAt = Date.now() + 1000;
      } else {
        this.hosts.get(row.id)?.stop();
        this.hosts.delete(row.id);
      }
      this.logger.error({ pluginId: row.id, plugin: row.package, version: row.version, error: state.error }, 'provider plugin failed to load');
    }
    const before = this.loaded.get(row.id);
    if (before) for (const p of before.providerIds) if (!state.providerIds.includes(p)) this.registry.unregister(p);
    this.loaded.set(row.id, state);
  }

  private unload(id: string): void {
    const state = this.loaded.get(id)!;
    for (const p of state.providerIds) this.registry.unregister(p);
    this.hosts.get(id)?.stop();
    this.hosts.delete(id);
    fs.rmSync(this.folder(id), { recursive: true, force: true });
    this.loaded.delete(id);
    this.logger.info({ pluginId: id, plugin: state.package, version: state.version }, 'provider plugin unloaded');
  }

  /**
   * Its host crashed too often here: disabled for every process (the first process to get here wins), its
   * subscriptions paused, `hub.plugin.failing` emitted.
   */
  private async disable(row: PluginEntity, reason: string): Promise<void> {
    try {
      const providers = [...new Set([...(row.providers ?? []), ...(this.loaded.get(row.id)?.providerIds ?? [])])];
      const paused = await this.dataSource.transaction(async (m) => {
        const won = (await m.query(
          `WITH u AS (UPDATE plugins SET disabled_at = now(), disabled_reason = $2
                       WHERE id = $1 AND disabled_at IS NULL AND uninstalled_at IS NULL RETURNING id) SELECT * FROM u`,
          [row.id, reason],
        )) as { id: string }[];
        if (!won.length) return undefined;
        return (await m.query(
          `WITH u AS (UPDATE subscriptions SET paused_reason = $2, updated_at = now()
                       WHERE provider = ANY($1) AND paused_reason IS NULL RETURNING id) SELECT id FROM u ORDER BY id`,
          [providers, pausedByFailing(row.package)],
        )) as { id: string }[];
      });
      if (!paused) return; // another process disabled it first
      this.logger.error({ pluginId: row.id, plugin: row.package, version: row.version, reason, paused: paused.length }, 'provider plugin disabled');
      await this.hubEvents?.emit('hub.plugin.failing', hubEmissionId('hub.plugin.failing', row.id), {
        pluginId: row.id,
        package: row.package,
        version: row.version,
        reason,
        providers,
        pausedSubscriptions: paused.map((p) => p.id),
      });
    } catch (err) {
      this.logger.error({ pluginId: row.id, err: loadErrorMessage(err) }, 'provider plugin could not be disabled');
    } finally {
      await this.sync();
    }
  }
}
