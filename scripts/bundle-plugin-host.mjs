// Bundles the plugin host (dist/src/plugins/host.js and everything it loads) into one file, dist/plugin-host.js.
// A host runs as PLUGIN_RUN_AS_USER, which may not be able to enter the project's folder (a checkout under
// /root or in a 0700 temp folder): the hub copies this one file, and the plugin, where that user can read them.
import { build } from 'rolldown';
await build({
  input: 'dist/src/plugins/host.js',
  platform: 'node',
  logLevel: 'warn',
  output: { file: 'dist/plugin-host.js', format: 'cjs', codeSplitting: false, sourcemap: false },
});
console.log('plugin host bundle: dist/plugin-host.js');
