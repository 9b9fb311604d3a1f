import { z } from 'zod';
import { registerRedactions } from './shared/sanitise';
import { secretBindingsFromJsonSchema } from './shared/secret-field';
import type { ProviderDefinition } from './types';

/** A registered provider with what is derived from its schemas once. */
export interface RegisteredProvider {
  definition: ProviderDefinition;
  /** JSON Schema of the config, as published by `GET /providers`. */
  configJsonSchema: Record<string, unknown>;
  connectionJsonSchema?: Record<string, unknown>;
  /** Dot paths of the config's secret fields (encrypted at rest, masked on read). */
  secretPaths: string[];
  /** Dot paths of the connection's secret fields. */
  connectionSecretPaths: string[];
  /**
   * Secret path -> the config fields saying where that secret is sent (`"x-bound-to"` in the schema).
   * A PATCH moving such a field to another origin must give the secret again.
   */
  secretBindings: Record<string, string[]>;
  /** The same for the connection's secrets and fields. */
  connectionSecretBindings: Record<string, string[]>;
  /** `builtin`, or the plugin package and version it came from. */
  source: string;
}

/** The providers the service knows, by id. */
export class ProviderRegistry {
  private readonly byId = new Map<string, RegisteredProvider>();

  /**
   * Registers a provider; a second provider with the same id is refused. `jsonSchemas`: the published schemas
   * when its zod schemas live elsewhere (a provider running in a plugin host describes its own).
   */
  register(
    definition: ProviderDefinition,
    source = 'builtin',
    jsonSchemas?: { config: Record<string, unknown>; connection?: Record<string, unknown> },
  ): RegisteredProvider {
    if (this.byId.has(definition.id)) throw new Error(`provider ${definition.id} is already registered`);
    const configJsonSchema = jsonSchemas?.config ?? (z.toJSONSchema(definition.configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>);
    const connectionJsonSchema = jsonSchemas
      ? jsonSchemas.connection
      : definition.connectionSchema
        ? (z.toJSONSchema(definition.connectionSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>)
        : undefined;
    // the provider's own secret shapes, masked in every text from now on (kept when it is unregistered: masking more is safe)
    if (definition.redact !== undefined) registerRedactions(definition.id, definition.redact);
    const secrets = secretBindingsFromJsonSchema(configJsonSchema);
    const connectionSecrets = secretBindingsFromJsonSchema(connectionJsonSchema);
    const entry: RegisteredProvider = {
      definition,
      configJsonSchema,
      connectionJsonSchema,
      secretPaths: Object.keys(secrets),
      connectionSecretPaths: Object.keys(connectionSecrets),
      secretBindings: onlyBound(secrets),
      connectionSecretBindings: onlyBound(connectionSecrets),
      source,
    };
    this.byId.set(definition.id, entry);
    return entry;
  }

  /** Removes a provider (a plugin being unloaded); false when there was none. */
  unregister(id: string): boolean {
    return this.byId.delete(id);
  }

  get(id: string): RegisteredProvider | undefined {
    return this.byId.get(id);
  }

  list(): RegisteredProvider[] {
    return [...this.byId.values()];
  }
}

function onlyBound(bindings: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(bindings).filter(([, fields]) => fields.length > 0));
}
