import crypto from 'node:crypto';
import type { DataSource } from 'typeorm';
import { SubscriptionEntity, type RetryPolicy } from '../../entities/subscription.entity';
import { ConnectionEntity } from '../../entities/connection.entity';
import type { AddressPolicy } from '../../providers/http/address-policy';
import { refusedLiteralAddresses } from '../../providers/http/literal-addresses';
import type { ProviderRegistry, RegisteredProvider } from '../../providers/registry';
import type { FieldProblem } from '../../providers/types';
import type { EventCatalogue } from '../catalogue/store';
import { badRequest, HttpProblem, notFound } from '../http/problem';
import { isPluginHostFailure } from '../plugins/host-client';
import { remoteOf } from '../plugins/remote-provider';
import type { Role } from '../../entities/api-token.entity';
import { zodProblems } from '../http/validation';
import type { SecretBox } from '../secrets/crypto';
import { secretsLeftBehind } from '../secrets/destinations';
import { decryptFields, encryptFields, maskFields, mergeSecretFields } from '../secrets/fields';
import { previewRequests, type PreviewRequest } from './preview';
import { coalesces } from '../deliveries/lanes';

/** Fields an admin sets on a subscription (docs/API.md "Subscriptions"). */
export interface SubscriptionInput {
  name: string;
  description?: string | null;
  provider: string;
  connectionId?: string | null;
  config: Record<string, unknown>;
  event: string;
  systemIds: string[];
  enabled: boolean;
  retryPolicy?: RetryPolicy | null;
  /** Ordered follow-ups: collapse queued follow-ups into the newest (null: the provider's default). */
  coalesceFollowUps?: boolean | null;
}

/** A subscription as the API shows it: secrets masked. */
export interface SubscriptionView extends Omit<SubscriptionInput, 'description' | 'connectionId' | 'retryPolicy' | 'coalesceFollowUps'> {
  id: string;
  description: string | null;
  connectionId: string | null;
  retryPolicy: RetryPolicy | null;
  /** The switch in force: the subscription's own, else the provider's default. */
  coalesceFollowUps: boolean;
  pausedReason: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Creates, changes and reads subscriptions; secret config fields are encrypted here and nowhere else. */
export class SubscriptionService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly providers: ProviderRegistry,
    private readonly catalogue: EventCatalogue,
    private readonly secrets: SecretBox,
    /** Literal addresses it refuses are refused at save and preview (undefined: not checked here). */
    private readonly addressPolicy?: AddressPolicy,
  ) {}

  private get repo() {
    return this.dataSource.getRepository(SubscriptionEntity);
  }

  /** Creates a subscription; `role` is the caller's (an admin-only provider refuses anyone else, 403). */
  async create(input: SubscriptionInput, role: Role): Promise<SubscriptionView> {
    const provider = await this.checkReferences(input.provider, input.event, input.connectionId ?? null);
    requireAdminFor(provider, role, 'create');
    const config = await this.validConfig(provider, input.config, input.event, Boolean(input.connectionId));
    const row = this.repo.create({
      id: `sub_${crypto.randomUUID().replace(/-/g, '')}`,
      name: input.name,
      description: input.description ?? null,
      provider: input.provider,
      connectionId: input.connectionId ?? null,
      config: encryptFields(config, provider.secretPaths, this.secrets),
      event: input.event,
      systemIds: dedupe(input.systemIds),
      enabled: input.enabled,
      retryPolicy: input.retryPolicy ?? null,
      coalesceFollowUps: input.coalesceFollowUps ?? null,
      pausedReason: null,
    });
    await this.repo.insert(row as never);
    return this.view((await this.repo.findOneByOrFail({ id: row.id }))!);
  }

  /**
   * Applies a PATCH: given fields replace stored ones; in `config`, a secret left out (or sent back as
   * `{set: true}`) keeps its stored value, unless the field it is bound to now points to another origin
   * (400 naming the secret: it must be given again). Enabling a subscription, or changing its config, clears a pause.
   */
  async update(id: string, patch: Partial<SubscriptionInput>, role: Role): Promise<SubscriptionView> {
    const row = await this.repo.findOneBy({ id });
    if (!row) throw notFound(`Subscription ${id} does not exist`);
    const providerId = patch.provider ?? row.provider;
    const event = patch.event ?? row.event;
    const connectionId = patch.connectionId !== undefined ? patch.connectionId : row.connectionId;
    // an admin-only subscription may still be switched off by anyone who may write subscriptions
    const onlyDisables = Object.keys(patch).every((k) => k === 'enabled') && patch.enabled === false;
    const current = this.providers.get(row.provider);
    if (current && !onlyDisables) requireAdminFor(current, role, 'change');
    const provider = await this.checkReferences(providerId, event, connectionId);
    if (providerId !== row.provider) requireAdminFor(provider, role, 'change');
    // a new connection (or none) is checked against the config too: some modes need one
    if (patch.config !== undefined || patch.provider !== undefined || patch.event !== undefined || patch.connectionId !== undefined) {
      if (patch.provider !== undefined && patch.provider !== row.provider && patch.config === undefined) {
        throw badRequest('Changing the provider needs a new config', [{ path: 'config', message: 'is required when provider changes' }]);
      }
      const stored = providerId === row.provider ? decryptFields(row.config, provider.secretPaths, this.secrets) : {};
      const merged = patch.config !== undefined ? mergeSecretFields(stored, patch.config, provider.secretPaths) : stored;
      const config = await this.validConfig(provider, merged, event, Boolean(connectionId));
      const leftBehind = patch.config !== undefined ? secretsLeftBehind(stored, patch.config, config, provider.secretBindings) : [];
      if (leftBehind.length) throw badRequest('The config sends stored secrets to a new destination; give them again', leftBehind);
      row.config = encryptFields(config, provider.secretPaths, this.secrets);
      row.pausedReason = null;
    }
    if (patch.name !== undefined) row.name = patch.name;
    if (patch.description !== undefined) row.description = patch.description;
    if (patch.connectionId !== undefined) row.connectionId = patch.connectionId;
    if (patch.systemIds !== undefined) row.systemIds = dedupe(patch.systemIds);
    if (patch.retryPolicy !== undefined) row.retryPolicy = patch.retryPolicy;
    if (patch.coalesceFollowUps !== undefined) row.coalesceFollowUps = patch.coalesceFollowUps;
    if (patch.enabled !== undefined) {
      row.enabled = patch.enabled;
      if (patch.enabled) row.pausedReason = null;
    }
    row.provider = providerId;
    row.event = event;
    await this.repo.save(row);
    return this.view(row);
  }

  /**
   * What a subscription would send for its event type's example, validated as create() validates it and sent
   * nowhere. With `storedId`, secrets left out or masked come from that stored subscription (the edit form).
   */
  async preview(input: SubscriptionInput, storedId?: string): Promise<PreviewRequest[]> {
    const provider = await this.checkReferences(input.provider, input.event, input.connectionId ?? null);
    let raw: Record<string, unknown> = input.config;
    let stored: Record<string, unknown> | undefined;
    if (storedId) {
      const row = await this.getRow(storedId);
      if (row.provider === input.provider) {
        stored = decryptFields(row.config, provider.secretPaths, this.secrets);
        raw = mergeSecretFields(stored, input.config, provider.secretPaths);
      }
    }
    const config = await this.validConfig(provider, raw, input.event, Boolean(input.connectionId));
    // the PATCH rule: a kept secret does not follow a destination moved to another origin, not even into a preview
    const leftBehind = stored ? secretsLeftBehind(stored, input.config, config, provider.secretBindings) : [];
    if (leftBehind.length) throw badRequest('The config sends stored secrets to a new destination; give them again', leftBehind);
    const conn = input.connectionId ? await this.dataSource.getRepository(ConnectionEntity).findOneBy({ id: input.connectionId }) : null;
    const connection = conn ? decryptFields(conn.config, provider.connectionSecretPaths, this.secrets) : undefined;
    return previewRequests(provider, (await this.catalogue.get(input.event))!, input.name, config, connection);
  }

  async get(id: string): Promise<SubscriptionView> {
    const row = await this.repo.findOneBy({ id });
    if (!row) throw notFound(`Subscription ${id} does not exist`);
    return this.view(row);
  }

  async getRow(id: string): Promise<SubscriptionEntity> {
    const row = await this.repo.findOneBy({ id });
    if (!row) throw notFound(`Subscription ${id} does not exist`);
    return row;
  }

  /**
   * Deletes a subscription and ends its open deliveries (`failed`: nothing more is sent; a workflow still
   * waiting finds its delivery closed when it wakes). Returns the ended deliveries, whose lanes go on.
   */
  async delete(id: string): Promise<string[]> {
    return this.dataSource.transaction(async (tx) => {
      const r = await tx.getRepository(SubscriptionEntity).delete({ id });
      if (!r.affected) throw notFound(`Subscription ${id} does not exist`);
      // a SELECT over the UPDATE: TypeORM answers a bare UPDATE ... RETURNING with [rows, count]
      const ended: { id: string }[] = await tx.query(
        `WITH u AS (
           UPDATE deliveries SET status = 'failed', next_retry_at = NULL, waiting_for = NULL, updated_at = now(),
                  error = 'The subscription ' || $1 || ' was deleted; no further retries'
            WHERE subscription_id = $1 AND status IN ('pending', 'retrying') RETURNING id
         ) SELECT id FROM u`,
        [id],
      );
      return ended.map((d) => d.id);
    });
  }

  /** Newest first, keyset-paginated on (createdAt, id). */
  async list(
    filter: { event?: string; provider?: string; enabled?: boolean },
    limit: number,
    after?: { createdAt: string; id: string },
  ): Promise<{ items: SubscriptionView[]; next?: { createdAt: string; id: string } }> {
    // created_at has microseconds but a cursor (a JS Date) only milliseconds: order and compare on the
    // millisecond, or rows created within the same millisecond as a page's last row would be skipped
    const createdMs = "date_trunc('milliseconds', s.created_at)";
    const qb = this.repo.createQueryBuilder('s').orderBy(createdMs, 'DESC').addOrderBy('s.id', 'DESC').limit(limit + 1);
    if (filter.event) qb.andWhere('s.event = :event', { event: filter.event });
    if (filter.provider) qb.andWhere('s.provider = :provider', { provider: filter.provider });
    if (filter.enabled !== undefined) qb.andWhere('s.enabled = :enabled', { enabled: filter.enabled });
    if (after) qb.andWhere(`(${createdMs}, s.id) < (:at, :id)`, { at: after.createdAt, id: after.id });
    const rows = await qb.getMany();
    const more = rows.length > limit;
    const items = rows.slice(0, limit).map((r) => this.view(r));
    const last = items[items.length - 1];
    return { items, next: more && last ? { createdAt: last.createdAt, id: last.id } : undefined };
  }

  /** The API view: secret fields masked as `{set: true}`, never their value. */
  view(row: SubscriptionEntity): SubscriptionView {
    const provider = this.providers.get(row.provider);
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      provider: row.provider,
      connectionId: row.connectionId,
      // a provider that is not installed: nothing is known about its secrets, so show no config values at all
      config: provider ? maskFields(row.config, provider.secretPaths) : {},
      event: row.event,
      systemIds: row.systemIds,
      enabled: row.enabled,
      retryPolicy: row.retryPolicy,
      coalesceFollowUps: provider ? coalesces(provider.definition, row.config, row.coalesceFollowUps) : (row.coalesceFollowUps ?? false),
      pausedReason: row.pausedReason,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }

  private async checkReferences(providerId: string, eventId: string, connectionId: string | null): Promise<RegisteredProvider> {
    const problems: FieldProblem[] = [];
    const provider = this.providers.get(providerId);
    if (!provider) problems.push({ path: 'provider', message: `unknown provider "${providerId}"` });
    const policy = provider?.definition.connection ?? 'none';
    if (connectionId) {
      const conn = await this.dataSource.getRepository(ConnectionEntity).findOneBy({ id: connectionId });
      if (!conn) problems.push({ path: 'connectionId', message: `unknown connection "${connectionId}"` });
      else if (conn.provider !== providerId) problems.push({ path: 'connectionId', message: `is a ${conn.provider} connection, not ${providerId}` });
      else if (policy === 'none') problems.push({ path: 'connectionId', message: `provider "${providerId}" takes no connection` });
    } else if (provider && policy === 'required') {
      problems.push({ path: 'connectionId', message: `is required by provider "${providerId}"` });
    }
    if (!(await this.catalogue.get(eventId))) problems.push({ path: 'event', message: `unknown event "${eventId}"` });
    if (problems.length) throw badRequest('The subscription refers to something that does not exist', problems);
    return provider!;
  }

  private async validConfig(provider: RegisteredProvider, config: unknown, eventId: string, hasConnection: boolean): Promise<Record<string, unknown>> {
    const parsed = provider.definition.configSchema.safeParse(config);
    if (!parsed.success) throw badRequest('The provider config is invalid', zodProblems(parsed.error, 'config'));
    const eventType = (await this.catalogue.get(eventId))!;
    const remote = remoteOf(provider.definition);
    if (remote) {
      // a plugin's provider: its schema and validateConfig run in its host
      const checked = await remote
        .validate('config', config, { id: eventType.id, payloadSchema: eventType.payloadSchema, example: eventType.example }, hasConnection)
        .catch((err: Error) => {
          if (isPluginHostFailure(err)) throw new HttpProblem(503, 'Service Unavailable', `The plugin of provider ${provider.definition.id} could not check the config: ${err.message}`);
          throw badRequest('The provider config is invalid', [{ path: 'config', message: `the plugin's check failed: ${err.message}` }]);
        });
      if (!checked.ok) throw badRequest('The provider config is invalid', checked.problems);
      (parsed as { data: unknown }).data = checked.data;
    }
    const problems = provider.definition.validateConfig?.(parsed.data, eventType, { hasConnection }) ?? [];
    if (problems.length) throw badRequest('The provider config is invalid', problems);
    const refused = this.addressPolicy ? refusedLiteralAddresses(parsed.data, 'config', this.addressPolicy) : [];
    if (refused.length) throw badRequest('The provider config sends to an address the outbound policy refuses', refused);
    return parsed.data as Record<string, unknown>;
  }
}

/** 403 unless an admin writes a subscription of an admin-only provider (the shell provider). */
function requireAdminFor(provider: RegisteredProvider, role: Role, action: 'create' | 'change'): void {
  if (!provider.definition.adminOnly || role === 'admin') return;
  throw new HttpProblem(403, 'Forbidden', `Only an admin may ${action} a ${provider.definition.id} subscription (it runs commands on the workers)`);
}

function dedupe(ids: string[]): string[] {
  return [...new Set(ids)];
}
