import path from 'node:path';
import { createRegistry } from '../providers';
import type { Config } from './config';
import type { Logger } from './logger';

/** Where relative plugin paths are resolved from: the project root. */
export const PROJECT_ROOT = path.resolve(__dirname, '../..');

/** The provider registry of this process as configured (built-ins and plugins). */
export function providersFor(config: Config, logger?: Logger) {
  return createRegistry(
    { plugins: config.providerPlugins, pluginBaseDir: PROJECT_ROOT, shellEnabled: config.shellProviderEnabled },
    logger,
  );
}
