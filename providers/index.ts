import type { Logger } from './shared/logger';
import { loadProviderPlugins, type PluginLoadError } from './plugins';
import { ProviderRegistry } from './registry';
import { discordProvider } from './discord';
import { emailProvider } from './email';
import { googleChatProvider } from './google-chat';
import { jiraProvider } from './jira';
import { opsgenieProvider } from './opsgenie';
import { pagerdutyProvider } from './pagerduty';
import { scriptProvider } from './script';
import { createShellProvider, type ShellProviderOptions } from './shell';
import { slackProvider } from './slack';
import { teamsProvider } from './teams';
import { telegramProvider } from './telegram';
import { webexProvider } from './webex';
import { webhookProvider } from './webhook';

/** The built-in providers: one line per provider folder. */
export const BUILTIN_PROVIDERS = [
  webhookProvider,
  slackProvider,
  teamsProvider,
  webexProvider,
  telegramProvider,
  jiraProvider,
  scriptProvider,
  pagerdutyProvider,
  opsgenieProvider,
  discordProvider,
  googleChatProvider,
  emailProvider,
];

/**
 * A registry holding the built-in providers; the shell provider (it runs commands on the worker host)
 * only when an admin enabled it by configuration.
 */
export function createBuiltinRegistry(options: { shellEnabled?: boolean; shell?: ShellProviderOptions } = {}): ProviderRegistry {
  const registry = new ProviderRegistry();
  for (const p of BUILTIN_PROVIDERS) registry.register(p);
  if (options.shellEnabled) registry.register(createShellProvider(options.shell));
  return registry;
}

/**
 * The providers of this process: built-ins, then plugins from configuration. A plugin that fails to
 * load is logged and reported (`loadErrors`); the service starts without it.
 */
export function createRegistry(
  options: { plugins: string[]; pluginBaseDir: string; shellEnabled?: boolean; shell?: ShellProviderOptions },
  logger?: Logger,
): { registry: ProviderRegistry; loadErrors: PluginLoadError[] } {
  const registry = createBuiltinRegistry({ shellEnabled: options.shellEnabled, shell: options.shell });
  const loadErrors = loadProviderPlugins(options.plugins, registry, options.pluginBaseDir);
  for (const e of loadErrors) logger?.error({ plugin: e.plugin, error: e.error }, 'provider plugin failed to load');
  return { registry, loadErrors };
}
