import path from 'node:path';
import type { DataSource } from 'typeorm';
import { PluginRuntime } from './plugins/runtime';
import { createRegistry } from '../providers';
import type { Config } from './config';
import type { Logger } from './logger';

/** Where relative plugin paths are resolved from: the project root. */
export const PROJECT_ROOT = path.resolve(__dirname, '../..');

/** The provider registry of this process as configured (built-ins and plugins). */
export function providersFor(config: Config, logger?: Logger) {
  if (config.shellProviderEnabled) warnIfShellUnisolated(config, logger);
  return createRegistry(
    {
      plugins: config.providerPlugins,
      pluginBaseDir: PROJECT_ROOT,
      shellEnabled: config.shellProviderEnabled,
      shell: { sandbox: config.shell, serverSecrets: config.serverSecrets },
    },
    logger,
  );
}

/** A worker that is not root cannot switch users: commands run unisolated (its own user) or not at all. */
function warnIfShellUnisolated(config: Config, logger?: Logger): void {
  const uid = process.getuid?.();
  if (uid === undefined || uid === 0) return;
  logger?.warn(
    { runAsUser: config.shell.runAsUser, uid },
    'the shell provider is enabled but this process is not root: commands run only if SHELL_RUN_AS_USER is this ' +
      "process' own user, and then without isolation (they can read this process' environment)",
  );
}

/**
 * The providers of this process with its installed plugins: built-ins and PROVIDER_PLUGINS now, plugins
 * from the `plugins` table once `plugins.start()` ran (and as they are installed or uninstalled).
 */
export function providersWithPlugins(config: Config, dataSource: DataSource, logger: Logger) {
  const { registry, loadErrors } = providersFor(config, logger);
  return { registry, plugins: new PluginRuntime(dataSource, registry, config.dataDir, logger, loadErrors, config.pluginHost) };
}
