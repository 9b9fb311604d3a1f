import path from 'node:path';
import { ensureTemporalCli } from '../../src/dev/temporal-cli';

// Run before mocha so a cold Go build shows its progress instead of eating a test timeout.
const binary = ensureTemporalCli(path.resolve(__dirname, '../../..'), (l) => process.stdout.write(`[test] ${l}\n`));
process.stdout.write(`[test] temporal CLI: ${binary}\n`);
