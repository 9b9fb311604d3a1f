import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { outcomeFromError, outcomeFromResponse, parseRetryAfter } from './http/outcome';
import { severityColor, summarise, truncate } from './shared/format';
import { safeErrorMessage, sanitise, sanitiseCode } from './shared/sanitise';
import {
  buildTemplateView, checkTemplatePaths, exampleView, renderJsonTemplate, renderTemplate, TemplateError, templateField,
} from './shared/template';
import { OptionsQueryError } from './options';
import { SECRET_META, secretMeta } from './shared/secret-field';
import type { ProviderRegistry } from './registry';
import type { ProviderDefinition } from './types';

/**
 * What a plugin gets when it exports `createProvider(sdk)` instead of a ready `provider`: the host's
 * zod (schemas must come from it) and the helpers built-in providers use.
 */
export const PLUGIN_SDK = Object.freeze({
  z,
  outcomeFromResponse,
  outcomeFromError,
  parseRetryAfter,
  summarise,
  truncate,
  severityColor,
  OptionsQueryError,
  SECRET_META,
  secretMeta,
  // templates, as the built-in providers use them (providers/shared/template.ts)
  buildTemplateView,
  exampleView,
  renderTemplate,
  renderJsonTemplate,
  checkTemplatePaths,
  templateField,
  TemplateError,
  // sanitising (providers/shared/sanitise.ts); a provider's own secret shapes go in its `redact` hook
  sanitise,
  sanitiseCode,
  safeErrorMessage,
});
export type PluginSdk = typeof PLUGIN_SDK;

/** A plugin that could not be loaded: reported by `GET /providers`, never fatal. */
export interface PluginLoadError {
  plugin: string;
  error: string;
}

/**
 * Loads provider plugins named in configuration: npm package names (resolved from the project) or
 * local folders/files (absolute, or relative to `baseDir`). A plugin module exports `provider`
 * (a ProviderDefinition), `providers` (several), or `createProvider(sdk)`; `default` may hold any of these.
 * Each is registered exactly like a built-in, with its package name and version as source.
 */
export function loadProviderPlugins(specs: string[], registry: ProviderRegistry, baseDir: string): PluginLoadError[] {
  const errors: PluginLoadError[] = [];
  for (const spec of specs) {
    try {
      loadPluginEntry(resolvePlugin(spec, baseDir), registry, spec);
    } catch (err) {
      errors.push({ plugin: spec, error: loadErrorMessage(err) });
    }
  }
  return errors;
}

/**
 * Loads one plugin module (a resolved file or folder) and registers its providers; all or none: when one
 * of them is invalid or its id is taken, those already registered are removed again. Returns their ids.
 */
export function loadPluginEntry(entry: string, registry: ProviderRegistry, spec: string = entry): string[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(require.resolve(entry)) as Record<string, unknown>;
  const defs = definitionsOf(mod.default && typeof mod.default === 'object' ? { ...(mod.default as object), ...mod } : mod);
  if (defs.length === 0) throw new Error('exports no provider (expected `provider`, `providers` or `createProvider(sdk)`)');
  const source = sourceOf(require.resolve(entry), spec);
  const done: string[] = [];
  try {
    for (const def of defs) {
      checkShape(def);
      registry.register(def, source);
      done.push(def.id);
    }
  } catch (err) {
    for (const id of done) registry.unregister(id);
    throw err;
  }
  return done;
}

/** The first line of a load error, bounded: what the lists show. */
export function loadErrorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 500);
}

function resolvePlugin(spec: string, baseDir: string): string {
  const isPath = spec.startsWith('.') || path.isAbsolute(spec);
  return require.resolve(isPath ? path.resolve(baseDir, spec) : spec, { paths: [baseDir] });
}

function definitionsOf(mod: Record<string, unknown>): ProviderDefinition[] {
  if (typeof mod.createProvider === 'function') {
    const made = (mod.createProvider as (sdk: PluginSdk) => unknown)(PLUGIN_SDK);
    return (Array.isArray(made) ? made : [made]) as ProviderDefinition[];
  }
  if (Array.isArray(mod.providers)) return mod.providers as ProviderDefinition[];
  if (mod.provider) return [mod.provider as ProviderDefinition];
  return [];
}

function checkShape(def: ProviderDefinition): void {
  const problems: string[] = [];
  if (!def || typeof def !== 'object') throw new Error('a provider must be an object');
  if (typeof def.id !== 'string' || !/^[a-z][a-z0-9-]{1,62}$/.test(def.id)) problems.push('id must be lower-case letters, digits and -');
  if (typeof def.displayName !== 'string') problems.push('displayName must be a string');
  if (typeof def.deliver !== 'function') problems.push('deliver must be a function');
  if (!def.configSchema || typeof (def.configSchema as { safeParse?: unknown }).safeParse !== 'function') {
    problems.push('configSchema must be a zod schema (use sdk.z)');
  }
  if (typeof def.followUps !== 'boolean') problems.push('followUps must be a boolean');
  if (problems.length) throw new Error(`invalid provider ${String(def.id)}: ${problems.join('; ')}`);
}

/** `<package name>@<version>` from the nearest package.json of the plugin, else the spec itself. */
function sourceOf(entry: string, spec: string): string {
  let dir = path.dirname(entry);
  for (let i = 0; i < 5; i++) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      const { name, version } = JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string; version?: string };
      if (name) return version ? `${name}@${version}` : name;
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return spec;
}
