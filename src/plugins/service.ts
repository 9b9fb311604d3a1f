import crypto from 'node:crypto';
import type { DataSource } from 'typeorm';
import { PluginEntity } from '../../entities/plugin.entity';
import type { Config } from '../config';
import { HttpProblem, notFound, conflict } from '../http/problem';
import { fetchFromRegistry, fromUpload, PackageSourceError, type PluginTarball } from './package-source';
import { DEFAULT_HOST_SETTINGS, pausedByFailing, type PluginRuntime } from './runtime';
import type { PluginHostSettings } from './host-client';
import type { PluginManifest } from './unpack';
import { inspectTarball, TarballRefused } from './tarball';
import type { AddressPolicy } from '../../providers/http/address-policy';
import { vetPlugin } from './vet';

/** What to install: a registry package, or an uploaded tarball. */
export type InstallRequest = { package: string; version: string } | { tarball: string };

/** The reason an uninstall pauses subscriptions with; a reinstall of the package resumes exactly these. */
const pausedByUninstall = (pkg: string) => `provider plugin ${pkg} was uninstalled`;

const problem = (status: number, field: string, message: string) =>
  new HttpProblem(status, status === 404 ? 'Not Found' : status === 422 ? 'Unprocessable Content' : status === 502 ? 'Bad Gateway' : 'Bad Request', message, [
    { path: field, message },
  ]);

/** Installs and uninstalls provider plugins (the API side); every process then loads them via PluginRuntime. */
export class PluginService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly runtime: PluginRuntime,
    private readonly settings: Config['pluginInstall'],
    /** The outbound address policy: registry fetches obey it like provider requests. */
    private readonly policy: AddressPolicy,
    /** How plugin hosts run (the trial load runs in one too). */
    private readonly hostSettings: PluginHostSettings = DEFAULT_HOST_SETTINGS,
  ) {}

  private assertEnabled(): void {
    if (!this.settings.enabled) throw new HttpProblem(403, 'Forbidden', 'Installing plugins is off; set PLUGIN_INSTALL_ENABLED=true');
  }

  private assertScope(name: string, field: string): void {
    const scopes = this.settings.allowedScopes;
    if (scopes.length && !scopes.some((s) => name.startsWith(`${s}/`))) {
      throw problem(422, field, `Package ${name} is not in an allowed scope (${scopes.join(', ')})`);
    }
  }

  async install(req: InstallRequest, tokenId: string) {
    this.assertEnabled();
    if ('package' in req) this.assertScope(req.package, 'package');
    let tarball: PluginTarball;
    try {
      tarball = 'tarball' in req
        ? fromUpload(req.tarball, this.settings.maxTarballBytes)
        : await fetchFromRegistry(this.settings.registryUrl, req.package, req.version, this.settings.maxTarballBytes, this.policy);
    } catch (err) {
      if (err instanceof PackageSourceError) throw problem(err.status, err.field, err.message);
      throw err;
    }
    const field = 'tarball' in req ? 'tarball' : 'version';
    // in memory, before anything is written: size and entry limits, no links or paths out of the package
    let manifest: PluginManifest;
    try {
      manifest = inspectTarball(tarball.bytes, this.settings.maxUnpackedBytes);
    } catch (err) {
      if (err instanceof TarballRefused) throw problem(422, field, err.message);
      throw err;
    }
    if ('package' in req && (manifest.name !== req.package || manifest.version !== req.version)) {
      throw problem(422, 'version', `The tarball holds ${manifest.name}@${manifest.version}, not ${req.package}@${req.version}`);
    }
    this.assertScope(manifest.name, field);
    if (manifest.dependencies.length) {
      throw problem(422, field, `Plugins must bundle their dependencies (found ${manifest.dependencies.join(', ')}); use the SDK passed to createProvider`);
    }
    const trial = await vetPlugin(tarball.bytes, this.hostSettings).catch((err: Error) => ({ fatal: `the package could not be unpacked: ${err.message}` }));
    if (trial.fatal) throw problem(422, field, `Refused: ${trial.fatal}`);
    const repo = this.dataSource.getRepository(PluginEntity);
    if (await repo.createQueryBuilder('p').where('p.package = :n AND p.uninstalled_at IS NULL', { n: manifest.name }).getExists()) {
      throw conflict(`${manifest.name} is already installed; uninstall it first`);
    }
    const row = repo.create({
      id: `plg_${crypto.randomBytes(12).toString('hex')}`,
      package: manifest.name,
      version: manifest.version,
      integrity: tarball.integrity,
      origin: 'tarball' in req ? 'upload' : 'registry',
      tarball: tarball.bytes,
      installedBy: tokenId,
      providers: ('providers' in trial && trial.providers) || [],
    });
    try {
      await repo.insert(row);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw conflict(`${manifest.name} is already installed; uninstall it first`);
      throw err;
    }
    await this.runtime.sync();
    if (!this.runtime.get(row.id)?.error) {
      await this.dataSource.query(`UPDATE subscriptions SET paused_reason = NULL, updated_at = now() WHERE paused_reason = ANY($1)`, [
        [pausedByUninstall(manifest.name), pausedByFailing(manifest.name)],
      ]);
    }
    return this.view((await this.find(row.id))!);
  }

  async list() {
    const rows = await this.dataSource.getRepository(PluginEntity).find({ order: { installedAt: 'DESC' } });
    return rows.map((r) => this.view(r));
  }

  async get(id: string) {
    const row = await this.find(id);
    if (!row) throw notFound(`Plugin ${id} does not exist`);
    return this.view(row);
  }

  /** What an uninstall touches: subscriptions and connections of its providers, deliveries still in flight. */
  async uninstallPreview(id: string) {
    const row = await this.installed(id);
    const providers = [...new Set([...(this.runtime.get(row.id)?.providerIds ?? []), ...(row.providers ?? [])])];
    const subscriptions = (await this.dataSource.query(
      `SELECT id, name, provider FROM subscriptions WHERE provider = ANY($1) AND paused_reason IS NULL ORDER BY created_at`,
      [providers],
    )) as { id: string; name: string; provider: string }[];
    const connections = (await this.dataSource.query(`SELECT id, name, provider FROM connections WHERE provider = ANY($1) ORDER BY created_at`, [
      providers,
    ])) as { id: string; name: string; provider: string }[];
    const [{ n }] = (await this.dataSource.query(
      `SELECT count(*)::int AS n FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
        WHERE s.provider = ANY($1) AND d.status IN ('pending', 'retrying')`,
      [providers],
    )) as { n: number }[];
    return { plugin: this.view(row), providers, subscriptions, connections, deliveriesInFlight: n };
  }

  /** Unloads it everywhere and pauses its subscriptions (kept, with their config) with a reason. */
  async uninstall(id: string, tokenId: string) {
    // allowed with installs off too: removing code is how an admin backs out
    const preview = await this.uninstallPreview(id);
    await this.dataSource.transaction(async (m) => {
      await m.query(`UPDATE plugins SET uninstalled_at = now(), uninstalled_by = $2 WHERE id = $1`, [id, tokenId]);
      await m.query(`UPDATE subscriptions SET paused_reason = $2, updated_at = now() WHERE provider = ANY($1) AND paused_reason IS NULL`, [
        preview.providers,
        pausedByUninstall(preview.plugin.package),
      ]);
    });
    await this.runtime.sync();
    return { ...preview, plugin: this.view((await this.find(id))!) };
  }

  private find(id: string) {
    return this.dataSource.getRepository(PluginEntity).findOneBy({ id });
  }

  private async installed(id: string): Promise<PluginEntity> {
    const row = await this.find(id);
    if (!row || row.uninstalledAt) throw notFound(`Plugin ${id} is not installed`);
    return row;
  }

  view(r: PluginEntity) {
    const here = r.uninstalledAt ? undefined : this.runtime.get(r.id);
    return {
      id: r.id,
      package: r.package,
      version: r.version,
      integrity: r.integrity,
      origin: r.origin,
      status: r.uninstalledAt
        ? ('uninstalled' as const)
        : r.disabledAt
          ? ('disabled' as const)
          : here?.error
            ? ('failed' as const)
            : ('installed' as const),
      providers: here?.providerIds ?? [],
      loadError: here?.error ?? null,
      installedBy: r.installedBy,
      installedAt: r.installedAt.toISOString(),
      uninstalledBy: r.uninstalledBy,
      uninstalledAt: r.uninstalledAt?.toISOString() ?? null,
      disabledAt: r.disabledAt?.toISOString() ?? null,
      disabledReason: r.disabledReason ?? null,
    };
  }
}
