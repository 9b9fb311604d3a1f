import type { z } from 'zod';
import type { Redaction } from './shared/sanitise';

/**
 * What one delivery attempt came to, as decided by the provider.
 * The workflow turns this into the next step: done, wait and retry, or stop.
 */
export type DeliveryOutcome = (
  | {
      kind: 'success';
      externalId?: string;
      httpStatus?: number;
      /**
       * Top-level, non-secret config fields the target said have changed (Telegram: the group became a
       * supergroup with a new chat id). Written to the subscription with the attempt, if the changed
       * config still passes the provider's schema.
       */
      configUpdate?: Record<string, string | number | boolean>;
    }
  | {
      kind: 'retryable';
      error: string;
      errorCode?: string;
      httpStatus?: number;
      /** The receiver's own hint (Retry-After, Telegram retry_after), in milliseconds. */
      retryAfterMs?: number;
    }
  | {
      kind: 'permanent';
      error: string;
      errorCode?: string;
      httpStatus?: number;
      /**
       * The target is gone for good (HTTP 410, archived channel, bot blocked, flow deleted):
       * the subscription is paused with this readable reason instead of retrying for days.
       */
      pauseReason?: string;
    }
) & {
  /** Output the provider wants kept with the attempt (a script's console), sanitised and capped before storage. */
  log?: string;
};

/** A request through the guarded client. `body` is sent as given; set content-type yourself. */
export interface OutboundRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Overall timeout for this request, milliseconds. Defaults to the client's. */
  timeoutMs?: number;
}

/** A response read through the guarded client; the body is capped in size. */
export interface OutboundResponse {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** Response body as text, truncated at the client's cap. */
  body: string;
  durationMs: number;
}

/**
 * The one HTTP client providers use (docs/DESIGN.md decision 8). It refuses non-public addresses unless
 * allow-listed, never follows redirects, enforces timeouts and a response size cap.
 * It resolves with any HTTP status; it rejects with an OutboundError for transport failures.
 */
export interface GuardedHttpClient {
  request(req: OutboundRequest): Promise<OutboundResponse>;
  /**
   * Resolves a host name for a protocol other than HTTP (SMTP) under the same address policy: the first
   * address that may be connected to. Rejects with an OutboundError (`ssrf_blocked`, `dns_failure`).
   * Connect to the address returned, not the name, so the address checked is the one used.
   */
  resolveHost?(hostname: string): Promise<ResolvedHost>;
}

/** An address a host name resolved to that the address policy allows. */
export interface ResolvedHost {
  address: string;
  family: 4 | 6;
}

/** A field problem, as it appears in problem+json `errors`. */
export interface FieldProblem {
  path: string;
  message: string;
}

/** The event as a provider sees it. */
export interface DeliveryEvent {
  /** Emission id (the idempotency key of the event). */
  id: string;
  /** Event type id, e.g. `incident.created`. */
  type: string;
  /** Human name of the event type, e.g. "Incident created". */
  displayName: string;
  occurredAt: string;
  systemIds: string[];
  payload: Record<string, unknown>;
  /** The subject value (payload[subjectKey]) when the event type names one, e.g. the incident id. */
  subject?: string;
  /** This event ends its subject (incident resolved, maintenance completed, system healthy again). */
  resolves: boolean;
}

/** The external record an earlier delivery made for the same subject at the same target. */
export interface FollowUp {
  externalId: string;
}

/** A choice for a dropdown, e.g. a Jira project or a Slack channel. */
export interface OptionItem {
  value: string;
  label: string;
}

/** What connection-level calls (test, options) get. */
export interface ConnectionContext<Connection = Record<string, unknown>> {
  connection: Connection;
  http: GuardedHttpClient;
  /** Query parameters of an options request, e.g. `{ projectKey: 'OPS' }` for issue types. */
  query: Record<string, string>;
}

/** Everything one attempt needs. Config and connection are decrypted, in memory only. */
export interface DeliveryContext<Config = Record<string, unknown>, Connection = Record<string, unknown>> {
  /** Stable across retries: receivers dedupe on it (sent as `webhook-id` by the webhook provider). */
  deliveryId: string;
  attempt: number;
  event: DeliveryEvent;
  subscription: { id: string; name: string };
  config: Config;
  connection?: Connection;
  /**
   * Set when an earlier delivery already made the external record for this subject at this target:
   * update it (comment, edit, thread reply, transition when `event.resolves`) instead of creating one.
   */
  followUp?: FollowUp;
  test: boolean;
  /** True when an admin asked to send a delivery again that had already succeeded. */
  redelivery: boolean;
  http: GuardedHttpClient;
}

/** The event type as a provider needs it at save time (to check templates against the schema). */
export interface EventTypeInfo {
  id: string;
  payloadSchema?: Record<string, unknown>;
  example?: Record<string, unknown>;
}

/** What a provider's validateConfig knows about the subscription beyond its config. */
export interface ConfigContext {
  /** Whether the subscription uses a connection (its credentials are not shown to validateConfig). */
  hasConnection: boolean;
}

/**
 * One provider: one registry entry per folder (docs/DESIGN.md decision 9).
 * Secret fields are marked in the zod schema with `.meta(SECRET_META)` or `.meta(secretMeta({ boundTo }))`
 * (providers/shared/secret-field.ts);
 * they are encrypted at rest and masked on every read.
 */
export interface ProviderDefinition<Config = any, Connection = any> {
  id: string;
  displayName: string;
  description: string;
  configSchema: z.ZodType<Config>;
  connectionSchema?: z.ZodType<Connection>;
  /** Whether subscriptions must (`required`), may (`optional`) or may not (`none`, the default) use a connection. */
  connection?: 'required' | 'optional' | 'none';
  followUps: boolean;
  /**
   * Creating, changing or enabling a subscription of this provider needs the admin role (a manager gets 403):
   * its config is code the workers run with more reach than an HTTP request (the shell provider).
   */
  adminOnly?: boolean;
  /**
   * Names the external place records are made in (a channel, a Jira project), so follow-ups from any
   * subscription pointing at the same place find the same record. Undefined: this config cannot follow up
   * (e.g. a Slack incoming webhook cannot edit what it posted).
   */
  followUpTarget?(config: Config, connection?: Connection): string | undefined;
  /**
   * Whether follow-ups edit one record to its newest state (a message edit, an alert's state), so that queued
   * follow-ups of one subject may be collapsed into the newest (docs/DESIGN.md decision 12): a boolean, or a
   * function of the config where a mode decides (edit the message: yes; reply in its thread: no). False or
   * absent when each follow-up adds to a history (a Jira comment, an e-mail reply, a thread reply). A
   * subscription may switch it (`coalesceFollowUps`). Only non-secret config fields may be read.
   */
  coalesceFollowUps?: boolean | ((config: Config) => boolean);
  /**
   * Names the destination (the target key): attempts are counted against its circuit (which opens for every
   * subscription pointing there) and held by its rate limit. Defaults to followUpTarget, else the URL origin
   * of the destination field (src/targets/key.ts). Must not contain a secret (it is shown in `GET /targets`).
   */
  healthTarget?(config: Config, connection?: Connection): string | undefined;
  /**
   * The secret shapes this provider's texts can carry beyond its secret fields' values (a token-bearing URL
   * path, a token format). Registering the provider makes the shared sanitiser mask them in every message,
   * log line and stored attempt (providers/shared/sanitise.ts, `registerRedactions`): a provider adds its
   * shapes here, never by editing the shared sanitiser.
   */
  redact?: readonly Redaction[];
  /** Extra checks at save time beyond the schema, e.g. template fields that can never exist. */
  validateConfig?(config: Config, event: EventTypeInfo, context: ConfigContext): FieldProblem[];
  deliver(ctx: DeliveryContext<Config, Connection>): Promise<DeliveryOutcome>;
  /** Checks a connection's credentials against the real API (`POST /connections/{id}/test`). */
  testConnection?(ctx: ConnectionContext<Connection>): Promise<{ ok: boolean; message: string }>;
  /** Dropdown choices by resolver name (`GET /connections/{id}/options/{resolver}`). */
  options?: Record<string, (ctx: ConnectionContext<Connection>) => Promise<OptionItem[]>>;
}
