import { createLogger } from '../../src/logger';
import { installTemporalRuntime } from '../../src/worker';
import { stopStack } from './stack';

// Temporal's own log lines (warnings and up) go to stderr through our logger, not the console
installTemporalRuntime(createLogger('warn', 'temporal', process.stderr));

/** Mocha root hooks: the shared stack is stopped once, after every suite. */
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopStack();
  },
};
