import path from 'node:path';
import { ensureGoTools, TEMPORAL_SERVER, TEMPORAL_SQL_TOOL, TEMPORAL_UI_SERVER } from '../../src/dev/go-tools';
import { ensureTemporalCli } from '../../src/dev/temporal-cli';

// Run before the cluster suite so a cold Go build shows its progress (and its time) instead of eating a test timeout.
const root = path.resolve(__dirname, '../../..');
const log = (l: string) => process.stdout.write(`[test:cluster] ${l}\n`);
const t0 = Date.now();
const cli = ensureTemporalCli(root, log);
const tools = ensureGoTools(root, [TEMPORAL_SERVER, TEMPORAL_SQL_TOOL, TEMPORAL_UI_SERVER], log);
log(`temporal CLI ${cli}; ${tools.join(', ')} (${Math.round((Date.now() - t0) / 1000)} s)`);
