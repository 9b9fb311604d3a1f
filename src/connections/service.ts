import crypto from 'node:crypto';
import type { DataSource } from 'typeorm';
import { ConnectionEntity } from '../../entities/connection.entity';
import { SubscriptionEntity } from '../../entities/subscription.entity';
import type { AddressPolicy } from '../../providers/http/address-policy';
import { refusedLiteralAddresses } from '../../providers/http/literal-addresses';
import type { ProviderRegistry, RegisteredProvider } from '../../providers/registry';
import { OptionsQueryError } from '../../providers/options';
import type { GuardedHttpClient, OptionItem } from '../../providers/types';
import { badRequest, conflict, HttpProblem, notFound } from '../http/problem';
import { isPluginHostFailure } from '../plugins/host-client';
import { remoteOf } from '../plugins/remote-provider';
import { zodProblems } from '../http/validation';
import { safeErrorMessage } from '../../providers/shared/sanitise';
import { secretsLeftBehind } from '../secrets/destinations';
import type { SecretBox } from '../secrets/crypto';
import { decryptFields, encryptFields, maskFields, mergeSecretFields, secretValues } from '../secrets/fields';

/** A connection as the API shows it: secrets masked. */
export interface ConnectionView {
  id: string;
  provider: string;
  name: string;
  config: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

/** Shared, encrypted provider credentials; rotating a token here fixes every subscription using it. */
export class ConnectionService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly providers: ProviderRegistry,
    private readonly secrets: SecretBox,
    private readonly http: GuardedHttpClient,
    /** Literal addresses it refuses are refused at save (undefined: not checked here). */
    private readonly addressPolicy?: AddressPolicy,
  ) {}

  private get repo() {
    return this.dataSource.getRepository(ConnectionEntity);
  }

  async create(input: { provider: string; name: string; config: Record<string, unknown> }): Promise<ConnectionView> {
    const provider = this.connectable(input.provider);
    const config = await this.validConfig(provider, input.config);
    const row = this.repo.create({
      id: `con_${crypto.randomUUID().replace(/-/g, '')}`,
      provider: input.provider,
      name: input.name,
      config: encryptFields(config, provider.connectionSecretPaths, this.secrets),
    });
    await this.repo.insert(row as never);
    return this.view(await this.row(row.id));
  }

  /**
   * PATCH: a secret left out of `config` (or sent back as `{set: true}`) keeps its stored value, unless
   * the field it is bound to (`apiBaseUrl`, `baseUrl`, ...) now points to another origin: then 400.
   */
  async update(id: string, patch: { name?: string; config?: Record<string, unknown> }): Promise<ConnectionView> {
    const row = await this.row(id);
    const provider = this.connectable(row.provider);
    if (patch.config !== undefined) {
      const stored = decryptFields(row.config, provider.connectionSecretPaths, this.secrets);
      const config = await this.validConfig(provider, mergeSecretFields(stored, patch.config, provider.connectionSecretPaths));
      const leftBehind = secretsLeftBehind(stored, patch.config, config, provider.connectionSecretBindings);
      if (leftBehind.length) throw badRequest('The connection sends stored secrets to a new destination; give them again', leftBehind);
      row.config = encryptFields(config, provider.connectionSecretPaths, this.secrets);
    }
    if (patch.name !== undefined) row.name = patch.name;
    await this.repo.save(row);
    return this.view(row);
  }

  async get(id: string): Promise<ConnectionView> {
    return this.view(await this.row(id));
  }

  async list(provider?: string): Promise<ConnectionView[]> {
    const rows = await this.repo.find({ where: provider ? { provider } : {}, order: { createdAt: 'ASC', id: 'ASC' } });
    return rows.map((r) => this.view(r));
  }

  /** Deletes an unused connection; 409 naming the subscriptions while any uses it. */
  async delete(id: string): Promise<void> {
    await this.row(id);
    const users = await this.dataSource.getRepository(SubscriptionEntity).find({ where: { connectionId: id }, select: { id: true }, take: 10 });
    if (users.length) throw conflict(`Connection ${id} is used by subscriptions ${users.map((u) => u.id).join(', ')}`);
    await this.repo.delete({ id });
  }

  /** Checks the credentials against the provider's API. Never throws for a provider-side failure. */
  async test(id: string): Promise<{ ok: boolean; message: string }> {
    const { provider, connection, known } = await this.open(id);
    if (!provider.definition.testConnection) return { ok: false, message: `Provider ${provider.definition.id} has no connection test` };
    try {
      const r = await provider.definition.testConnection({ connection, http: this.http, query: {} });
      return { ok: r.ok, message: safeErrorMessage(new Error(r.message), known).replace(/^Error: /, '') };
    } catch (err) {
      return { ok: false, message: safeErrorMessage(err, known) };
    }
  }

  /** Dropdown choices from the provider's API (Jira projects, Slack channels, ...). */
  async options(id: string, resolver: string, query: Record<string, string>): Promise<OptionItem[]> {
    const { provider, connection, known } = await this.open(id);
    const fn = provider.definition.options?.[resolver];
    if (!fn) throw notFound(`Provider ${provider.definition.id} has no options resolver "${resolver}"`);
    try {
      return await fn({ connection, http: this.http, query });
    } catch (err) {
      if (err instanceof OptionsQueryError) {
        throw badRequest(`The ${resolver} options need another query`, [{ path: `query.${err.param}`, message: err.detail }]);
      }
      throw new HttpProblem(502, 'Bad Gateway', `The ${provider.definition.displayName} API call failed: ${safeErrorMessage(err, known)}`);
    }
  }

  /** The row, or 404. */
  async row(id: string): Promise<ConnectionEntity> {
    const row = await this.repo.findOneBy({ id });
    if (!row) throw notFound(`Connection ${id} does not exist`);
    return row;
  }

  private async open(id: string) {
    const row = await this.row(id);
    const provider = this.connectable(row.provider);
    const connection = decryptFields(row.config, provider.connectionSecretPaths, this.secrets);
    return { provider, connection, known: secretValues(connection, provider.connectionSecretPaths) };
  }

  private connectable(providerId: string): RegisteredProvider {
    const provider = this.providers.get(providerId);
    if (!provider) throw badRequest('Unknown provider', [{ path: 'provider', message: `unknown provider "${providerId}"` }]);
    if (!provider.definition.connectionSchema) {
      throw badRequest('This provider takes no connection', [{ path: 'provider', message: `provider "${providerId}" has no connections` }]);
    }
    return provider;
  }

  private async validConfig(provider: RegisteredProvider, config: unknown): Promise<Record<string, unknown>> {
    const parsed = provider.definition.connectionSchema!.safeParse(config);
    if (!parsed.success) throw badRequest('The connection config is invalid', zodProblems(parsed.error, 'config'));
    const remote = remoteOf(provider.definition);
    if (remote) {
      // a plugin's provider: its connection schema runs in its host
      const checked = await remote.validate('connection', config).catch((err: Error) => {
        if (isPluginHostFailure(err)) throw new HttpProblem(503, 'Service Unavailable', `The plugin of provider ${provider.definition.id} could not check the connection: ${err.message}`);
        throw badRequest('The connection config is invalid', [{ path: 'config', message: `the plugin's check failed: ${err.message}` }]);
      });
      if (!checked.ok) throw badRequest('The connection config is invalid', checked.problems);
      (parsed as { data: unknown }).data = checked.data;
    }
    const refused = this.addressPolicy ? refusedLiteralAddresses(parsed.data, 'config', this.addressPolicy) : [];
    if (refused.length) throw badRequest('The connection sends to an address the outbound policy refuses', refused);
    return parsed.data as Record<string, unknown>;
  }

  view(row: ConnectionEntity): ConnectionView {
    const provider = this.providers.get(row.provider);
    return {
      id: row.id,
      provider: row.provider,
      name: row.name,
      config: provider ? maskFields(row.config, provider.connectionSecretPaths) : {},
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }
}
