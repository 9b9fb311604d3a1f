import { loadErrorMessage, loadPluginEntry } from '../../providers/plugins';
import { ProviderRegistry } from '../../providers/registry';
import { entryInside } from './unpack';

/**
 * Run as a child process by the installer: loads the unpacked plugin in `argv[2]` into a throw-away registry
 * and sends the provider ids (or the load error) to the parent. A plugin that exits, crashes or never
 * returns while loading ends only this process.
 */
function main(): void {
  let reply: { providers: string[] } | { error: string };
  try {
    entryInside(process.argv[2]);
    reply = { providers: loadPluginEntry(process.argv[2], new ProviderRegistry()) };
  } catch (err) {
    reply = { error: loadErrorMessage(err) };
  }
  process.send?.(reply, undefined, {}, () => process.exit(0));
}

main();
