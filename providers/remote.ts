import type { DeliveryOutcome, EventTypeInfo, FieldProblem, ProviderDefinition } from './types';

/**
 * What the hub needs beyond a ProviderDefinition to run a provider whose code lives in a plugin host (an
 * installed plugin: src/plugins/remote-provider.ts). Here, below activities/ and src/, so both can ask.
 */
export interface RemoteHooks {
  pluginId: string;
  /** The provider's schema and validateConfig (config) or connection schema, in the host. */
  validate(what: 'config' | 'connection', value: unknown, eventType?: EventTypeInfo, hasConnection?: boolean): Promise<{ ok: true; data: Record<string, unknown> } | { ok: false; problems: FieldProblem[] }>;
  /** An attempt's input checked in the host; a definition whose target functions answer what the host said. */
  prepare(config: unknown, connection?: unknown): Promise<{ ok: true; definition: ProviderDefinition } | { ok: false; outcome: DeliveryOutcome }>;
}

const REMOTE = Symbol('remote provider');

/** Marks `def` as running in a plugin host, with its hooks. */
export function withRemote<T extends ProviderDefinition>(def: T, hooks: RemoteHooks): T {
  return Object.assign(def, { [REMOTE]: hooks });
}

/** The hooks of a provider that runs in a plugin host; undefined for one that runs in this process. */
export function remoteOf(def: ProviderDefinition): RemoteHooks | undefined {
  return (def as { [REMOTE]?: RemoteHooks })[REMOTE];
}

/**
 * A plugin host failed the call, not the plugin's provider: it crashed, hung past the deadline, could not
 * start or is waiting to restart. Nothing of the call's outcome is known; an attempt is not counted.
 */
export class PluginHostFailure extends Error {
  override readonly name = 'PluginHostFailure';
}

export function isPluginHostFailure(err: unknown): err is PluginHostFailure {
  return err instanceof PluginHostFailure;
}
