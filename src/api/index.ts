import { createAddressPolicy } from '../../providers/http/address-policy';
import type { Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import type { ProviderRegistry } from '../../providers/registry';
import { SessionStore } from '../auth/sessions';
import { TokenStore } from '../auth/tokens';
import { LiveDeliveries } from '../deliveries/live';
import { sessionRoutes } from './session';
import { EventCatalogue } from '../catalogue/store';
import type { Config } from '../config';
import { DeliveryService } from '../deliveries/service';
import { ApiRoutes } from '../http/routes';
import { Reconciler } from '../ingest/reconciler';
import { IngestService } from '../ingest/service';
import { RateLimiter } from '../ingest/rate-limit';
import type { Logger } from '../logger';
import type { SecretBox } from '../secrets/crypto';
import { SubscriptionService } from '../subscriptions/service';
import { DeliveryWorkflows } from '../temporal/deliveries';
import { RecoveryStore } from '../deliveries/recoveries';
import { deliveryRoutes } from './deliveries';
import { statsRoutes } from './stats';
import { DeliveryStats } from '../deliveries/stats';
import { connectionRoutes } from './connections';
import { ConnectionService } from '../connections/service';
import type { GuardedHttpClient } from '../../providers/types';
import type { PluginRuntime } from '../plugins/runtime';
import { PluginService } from '../plugins/service';
import { pluginRoutes } from './plugins';
import { ProviderSettings } from '../../providers/settings';
import { eventRoutes } from './events';
import { ingestRoutes } from './ingest';
import { targetRoutes } from './targets';
import { TargetService } from '../targets/service';
import { HubEvents } from '../catalogue/hub-events';
import { providerRoutes } from './providers';
import { subscriptionRoutes } from './subscriptions';
import { tokenRoutes } from './tokens';
import { replayRoutes } from './replay';
import { BackgroundJobs } from '../deliveries/background-jobs';
import { ReplayService } from '../deliveries/replay-service';
import { ReplayStore } from '../deliveries/replays';
import { targetLimitRoutes } from './target-limits';
import { TargetLimitStore } from '../targets/limits';
import { anyObject } from './schemas';
import { outboundPolicy } from '../outbound';

/** What the API needs, built by the API process (or a test). */
export interface ApiDeps {
  config: Config;
  dataSource: DataSource;
  client: Client;
  logger: Logger;
  providers: ProviderRegistry;
  secrets: SecretBox;
  /** Outbound client for connection tests and options (the guarded one). */
  http: GuardedHttpClient;
  /** The plugins of this process (loaded into `providers`); their failures are shown by `GET /providers`. */
  plugins: PluginRuntime;
}

/** Admin and ingest requests other than ingest are small; this is their body limit. */
const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

/** The identity the hub's own events (hub.*) are ingested under. */
const HUB_AUTH = { tokenId: 'hub', role: 'admin' as const, owners: [] };

/** The providers whose deliveries may wait in a lane: those that keep follow-up records (plugins included). */
function lanedProviders(providers: ApiDeps['providers']): string[] {
  return providers.list().filter((p) => p.definition.followUps).map((p) => p.definition.id);
}

/** Wires services and routes of `/api/v1`. */
export function buildApi(deps: ApiDeps) {
  const { config, dataSource, client, logger, providers, secrets, http } = deps;
  const catalogue = new EventCatalogue(dataSource);
  const workflows = new DeliveryWorkflows(client, config.temporal.taskQueue, config.temporal.uiUrl, config.temporal.namespace, config.temporal.requestTimeoutMs, config.background.taskQueue);
  const ingest = new IngestService(dataSource, catalogue, workflows, logger, () => lanedProviders(providers), config.workflowStarts, config.payloadCopy);
  const addressPolicy = outboundPolicy(config);
  const subscriptions = new SubscriptionService(dataSource, providers, catalogue, secrets, addressPolicy);
  const jobs = new BackgroundJobs(dataSource, config.background.maxJobs, workflows);
  const deliveries = new DeliveryService(dataSource, workflows, ingest, new RecoveryStore(dataSource), jobs);
  const tokens = new TokenStore(dataSource, { adminToken: config.adminToken, ingestToken: config.ingestToken });
  const sessions = new SessionStore(dataSource, tokens, config.uiSessionTtlMs);
  const routes = new ApiRoutes(tokens, DEFAULT_BODY_LIMIT_BYTES, sessions);
  const live = new LiveDeliveries(config.databaseUrl, deliveries, logger);

  ingestRoutes(routes, ingest, config.ingestMaxBodyBytes, new RateLimiter(config.ingestRateLimit.perSecond, config.ingestRateLimit.burst));
  eventRoutes(routes, catalogue);
  providerRoutes(routes, providers, new ProviderSettings(dataSource), () => deps.plugins.loadErrors());
  pluginRoutes(routes, new PluginService(dataSource, deps.plugins, config.pluginInstall, createAddressPolicy(config.outbound.allowedNetworks), config.pluginHost), config.pluginInstall.maxTarballBytes, config.pluginInstall.enabled);
  const targets = new TargetService(dataSource, config.targetHealth);
  const hubEvents = new HubEvents((req) => ingest.ingest(req, HUB_AUTH), logger);
  deps.plugins.useHubEvents(hubEvents);
  subscriptionRoutes(routes, subscriptions, ingest, targets, hubEvents, deliveries, logger);
  targetRoutes(routes, targets);
  targetLimitRoutes(routes, new TargetLimitStore(dataSource));
  replayRoutes(routes, new ReplayService(dataSource, new ReplayStore(dataSource, config.payloadCopy), workflows, jobs));
  deliveryRoutes(routes, deliveries, live);
  statsRoutes(routes, new DeliveryStats(dataSource));
  sessionRoutes(routes, sessions, config.uiSessionTtlMs);
  tokenRoutes(routes, dataSource);
  connectionRoutes(routes, new ConnectionService(dataSource, providers, secrets, http, addressPolicy));
  routes.add({
    method: 'get', path: '/openapi.json', summary: 'This API as OpenAPI 3.1', tag: 'meta', roles: 'public',
    responses: { 200: { description: 'The OpenAPI document', schema: anyObject } },
    handler: async () => ({ status: 200, body: openapi }),
  });
  const openapi = routes.openapi({ title: 'Integrations Hub', version: '1' });

  return {
    routes,
    router: routes.router(),
    catalogue,
    ingest,
    reconciler: new Reconciler(dataSource, ingest, logger, undefined, config.workflowStarts.reconcileBatch),
    workflows,
    /** Live updates of the log: stop() at shutdown ends every open stream. */
    live,
  };
}
