import type { DeliveryOutcome, EventTypeInfo, FieldProblem, OptionItem, OutboundRequest } from '../../providers/types';

/**
 * The protocol between the hub and a plugin host (src/plugins/host.ts), over the child's IPC channel as JSON
 * messages. Versioned: the host says which version it speaks in its `hello`; the hub refuses another.
 *
 * host -> hub  `hello`     once, after the plugin loaded (or failed to): its providers described
 * hub -> host  `call`      { id, op, args }: describe | validate | prepare | deliver | test | options
 * host -> hub  `result`    { id, ok, value | error }
 * host -> hub  `http`      { id, call, req }: the plugin asks the hub to send a request (ctx.http.request)
 * hub -> host  `http-done` { id, ok, res | error }
 *
 * Every call has a deadline on the hub's side; a host that misses it is killed (its other calls fail too).
 */
export const PLUGIN_PROTOCOL_VERSION = 1;

/** A provider as its plugin host describes it: what the hub registers instead of the plugin's own object. */
export interface ProviderDescription {
  id: string;
  displayName: string;
  description: string;
  configJsonSchema: Record<string, unknown>;
  connectionJsonSchema?: Record<string, unknown>;
  connection: 'required' | 'optional' | 'none';
  followUps: boolean;
  /** A boolean, or `config` when the plugin decides per config (answered by `prepare`). */
  coalesceFollowUps: boolean | 'config';
  validates: boolean;
  tests: boolean;
  options: string[];
}

export type HelloMessage = { t: 'hello'; v: number; providers: ProviderDescription[] } | { t: 'hello'; v: number; error: string };

/** A delivery context without its `http` (the host makes one that asks the hub). */
export interface WireDeliveryContext {
  deliveryId: string;
  attempt: number;
  event: { id: string; type: string; displayName: string; occurredAt: string; systemIds: string[]; payload: Record<string, unknown>; subject?: string; resolves: boolean };
  subscription: { id: string; name: string };
  config: Record<string, unknown>;
  connection?: Record<string, unknown>;
  followUp?: { externalId: string };
  test: boolean;
  redelivery: boolean;
}

/** Calls and what each answers. */
export interface PluginOps {
  describe: { args: Record<string, never>; value: ProviderDescription[] };
  /** The provider's schema and its validateConfig (config), or the connection schema (connection). */
  validate: {
    args: { provider: string; what: 'config' | 'connection'; value: unknown; eventType?: EventTypeInfo; hasConnection?: boolean };
    value: { ok: true; data: Record<string, unknown> } | { ok: false; problems: FieldProblem[] };
  };
  /** Parses an attempt's input and answers what the hub decides before sending (targets, coalescing). */
  prepare: {
    args: { provider: string; config: unknown; connection?: unknown };
    value:
      | { ok: true; followUpTarget?: string; healthTarget?: string; coalesce?: boolean }
      | { ok: false; outcome: DeliveryOutcome };
  };
  deliver: { args: { provider: string; ctx: WireDeliveryContext }; value: DeliveryOutcome };
  test: { args: { provider: string; connection: Record<string, unknown> }; value: { ok: boolean; message: string } };
  options: { args: { provider: string; resolver: string; connection: Record<string, unknown>; query: Record<string, string> }; value: OptionItem[] };
}
export type PluginOp = keyof PluginOps;

export type CallMessage = { t: 'call'; id: number; op: PluginOp; args: unknown };
export type ResultMessage = { t: 'result'; id: number; ok: true; value: unknown } | { t: 'result'; id: number; ok: false; error: string; optionsQuery?: { param: string; detail: string } };

/** A request as it crosses the channel: a Buffer body as base64. */
export type WireRequest = Omit<OutboundRequest, 'body'> & { body?: string; bodyBase64?: string };
export type HttpMessage = { t: 'http'; id: number; call: number; req: WireRequest };
export type HttpDoneMessage =
  | { t: 'http-done'; id: number; ok: true; res: { status: number; headers: Record<string, string>; body: string; durationMs: number } }
  | { t: 'http-done'; id: number; ok: false; error: { message: string; code?: string; name?: string } };

export type HostToHub = HelloMessage | ResultMessage | HttpMessage;
export type HubToHost = CallMessage | HttpDoneMessage;
