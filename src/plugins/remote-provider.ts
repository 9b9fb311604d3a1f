import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { OptionsQueryError } from '../../providers/options';
import { withRemote } from '../../providers/remote';
import type { DeliveryContext, ProviderDefinition } from '../../providers/types';
import type { Logger } from '../logger';
import { hostLaunch, HostProcess, PluginHostFailure, type PluginHostSettings } from './host-client';
import type { PluginOp, PluginOps, ProviderDescription, WireDeliveryContext } from './protocol';

/** How often an idle host is asked whether it still answers (a plugin spinning in a timer is found here). */
const PING_EVERY_MS = 5_000;
const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 30_000;

/**
 * The host of one installed plugin in this process: started on demand, restarted after a crash or a missed
 * deadline with backoff (250 ms doubling to 30 s); `onFailing` is told once when it crashed `maxCrashes`
 * times within `crashWindowMs`.
 */
export class PluginHost {
  private proc?: HostProcess;
  private starting?: Promise<HostProcess>;
  private restartAt = 0;
  private lastCrash = '';
  private crashes: number[] = [];
  private stopped = false;
  private failingTold = false;
  private runDir?: string;
  private ping?: NodeJS.Timeout;
  /** The providers as the last start described them. */
  providers: ProviderDescription[] = [];

  constructor(
    readonly pluginId: string,
    private readonly sourceDir: string,
    readonly settings: PluginHostSettings,
    private readonly logger: Logger,
    private readonly onFailing: (reason: string) => void,
  ) {}

  /** Starts it (if not running) and answers its providers; rejects with the load error or a PluginHostFailure. */
  async describe(): Promise<ProviderDescription[]> {
    await this.running();
    return this.providers;
  }

  async call<K extends PluginOp>(op: K, args: PluginOps[K]['args'], http?: DeliveryContext['http']): Promise<PluginOps[K]['value']> {
    const proc = await this.running();
    return proc.call(op, args, http);
  }

  /** The pid of the running host, if one runs (tests). */
  get pid(): number | undefined {
    return this.proc && !this.proc.exited ? this.proc.pid : undefined;
  }

  /** Stops the host for good (uninstall, disable, shutdown): nothing of the plugin runs in this process after. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.ping);
    this.proc?.stop();
    this.proc = undefined;
    if (this.runDir) fs.rmSync(this.runDir, { recursive: true, force: true });
    this.runDir = undefined;
  }

  private running(): Promise<HostProcess> {
    if (this.stopped) return Promise.reject(new PluginHostFailure('the plugin was uninstalled or disabled'));
    if (this.proc && !this.proc.exited) return Promise.resolve(this.proc);
    if (this.starting) return this.starting;
    const wait = this.restartAt - Date.now();
    if (wait > 0) return Promise.reject(new PluginHostFailure(`the plugin host restarts in ${wait} ms (it ${this.lastCrash})`));
    this.starting = this.start().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async start(): Promise<HostProcess> {
    const launch = hostLaunch(this.settings);
    const dir = this.runFolder(launch.owner);
    const proc: HostProcess = new HostProcess(dir, this.settings, launch, (reason, stopped) => this.exited(proc, reason, stopped));
    let providers: ProviderDescription[];
    try {
      providers = await proc.ready();
    } catch (err) {
      if (!(err instanceof PluginHostFailure)) proc.stop(); // a load error: the plugin is broken, not crashing
      throw err;
    }
    if (this.stopped) {
      proc.stop();
      throw new PluginHostFailure('the plugin was uninstalled or disabled');
    }
    this.providers = providers;
    this.proc = proc;
    clearInterval(this.ping);
    this.ping = setInterval(() => {
      if (this.proc === proc && !proc.exited) proc.call('describe', {}).catch(() => undefined);
    }, PING_EVERY_MS);
    this.ping.unref();
    this.logger.info({ pluginId: this.pluginId, pid: proc.pid, isolation: launch.isolation }, 'plugin host started');
    return proc;
  }

  /**
   * A copy of the unpacked plugin the host's user can read and not change (the data folder may be closed to
   * it): owned by this process, folders 0755 and files 0644, removed when the host stops.
   */
  private runFolder(owner?: { uid: number; gid: number }): string {
    if (this.runDir && fs.existsSync(this.runDir)) return path.join(this.runDir, 'package');
    const base = fs.mkdtempSync(path.join(os.tmpdir(), `ihub-plugin-${this.pluginId}-`));
    const dir = path.join(base, 'package');
    fs.cpSync(this.sourceDir, dir, { recursive: true, dereference: false, verbatimSymlinks: true });
    const walk = (p: string) => {
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) return;
      fs.chmodSync(p, st.isDirectory() ? 0o755 : 0o644);
      if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    };
    walk(base);
    void owner; // owned by this process: the host's user reads it and cannot write it
    this.runDir = base;
    return dir;
  }

  private exited(proc: HostProcess, reason: string, stopped: boolean): void {
    if (this.proc === proc) this.proc = undefined;
    if (stopped || this.stopped) return;
    const now = Date.now();
    this.crashes = [...this.crashes.filter((t) => now - t < this.settings.crashWindowMs), now];
    this.lastCrash = reason;
    const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (this.crashes.length - 1));
    this.restartAt = now + backoff;
    this.logger.warn({ pluginId: this.pluginId, pid: proc.pid, reason, crashes: this.crashes.length, restartInMs: backoff }, 'plugin host crashed');
    if (this.crashes.length >= this.settings.maxCrashes && !this.failingTold) {
      this.failingTold = true;
      this.onFailing(`its host crashed ${this.crashes.length} times within ${Math.round(this.settings.crashWindowMs / 1000)} s; last: it ${reason}`);
    }
  }
}

/** Accepts any object: a plugin's real schemas run in its host (`validate`, `prepare`). */
const ANY_OBJECT = z.record(z.string(), z.unknown());

export { remoteOf } from '../../providers/remote';

function wireContext(ctx: DeliveryContext): WireDeliveryContext {
  return {
    deliveryId: ctx.deliveryId,
    attempt: ctx.attempt,
    event: ctx.event,
    subscription: ctx.subscription,
    config: ctx.config,
    connection: ctx.connection,
    followUp: ctx.followUp,
    test: ctx.test,
    redelivery: ctx.redelivery,
  };
}

/**
 * The registry entry of a provider that runs in `host`: its schemas accept any object here (the host
 * checks them), every function is a call to the host. Only what one call needs crosses: deliver gets that
 * attempt's config and connection.
 */
export function remoteDefinition(desc: ProviderDescription, host: PluginHost): ProviderDefinition {
  const provider = desc.id;
  const def: ProviderDefinition = {
    id: desc.id,
    displayName: desc.displayName,
    description: desc.description,
    configSchema: ANY_OBJECT,
    connectionSchema: desc.connectionJsonSchema ? ANY_OBJECT : undefined,
    connection: desc.connection,
    followUps: desc.followUps,
    coalesceFollowUps: desc.coalesceFollowUps === true,
    deliver: (ctx) => host.call('deliver', { provider, ctx: wireContext(ctx) }, ctx.http),
    testConnection: desc.tests ? (ctx) => host.call('test', { provider, connection: ctx.connection }, ctx.http) : undefined,
    options: Object.fromEntries(
      desc.options.map((resolver) => [
        resolver,
        (ctx: Parameters<NonNullable<ProviderDefinition['options']>[string]>[0]) =>
          host.call('options', { provider, resolver, connection: ctx.connection, query: ctx.query }, ctx.http).catch((err: { optionsQuery?: { param: string; detail: string } }) => {
            throw err.optionsQuery ? new OptionsQueryError(err.optionsQuery.param, err.optionsQuery.detail) : err;
          }),
      ]),
    ),
  };
  return withRemote(def, {
    pluginId: host.pluginId,
    validate: (what, value, eventType, hasConnection) => host.call('validate', { provider, what, value, eventType, hasConnection }),
    prepare: async (config, connection) => {
      const r = await host.call('prepare', { provider, config, connection });
      if (!r.ok) return r;
      return {
        ok: true,
        definition: {
          ...def,
          followUpTarget: () => r.followUpTarget,
          healthTarget: () => r.healthTarget,
          coalesceFollowUps: r.coalesce ?? def.coalesceFollowUps,
        },
      };
    },
  });
}
