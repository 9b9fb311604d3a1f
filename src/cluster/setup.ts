import { spawn } from 'node:child_process';
import { SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes';

/** How long a namespace is kept after its workflows close, as docker-compose.yml creates it. */
const NAMESPACE_RETENTION = '720h';

const CLI_TYPE: Record<string, string> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DOUBLE]: 'Double',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
};

/**
 * The `temporal` CLI commands that prepare a new cluster for the hub, in order: the cluster answers, the
 * namespace exists, the search attributes are registered. docker-compose.yml's `temporal-setup` service runs
 * the same list (a test compares the two).
 */
export function setupCommands(address: string, namespace: string): string[][] {
  return [
    ['operator', 'cluster', 'health', '--address', address],
    ['operator', 'namespace', 'create', '--address', address, '--namespace', namespace, '--retention', NAMESPACE_RETENTION],
    ...SEARCH_ATTRIBUTE_KEYS.map((k) => [
      'operator', 'search-attribute', 'create', '--address', address, '--namespace', namespace, '--name', k.name, '--type', CLI_TYPE[k.type],
    ]),
  ];
}

/**
 * Runs each command like compose's `ensure`: "already exists" counts as done, "different type" fails at
 * once, anything else is retried every 2 s (the server warms up; a new namespace takes seconds to be usable),
 * 60 tries at most.
 */
export async function runSetup(cli: string, address: string, namespace: string, onLog: (line: string) => void = () => undefined): Promise<void> {
  for (const args of setupCommands(address, namespace)) {
    for (let tries = 0; ; tries++) {
      const { code, out } = await run(cli, args);
      if (code === 0 || /already exists|AlreadyExists/.test(out)) break;
      if (/different type/.test(out) || tries >= 59) throw new Error(`temporal ${args.join(' ')} failed:\n${out.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
    onLog(`temporal ${args.join(' ')} -> ok`);
  }
}

function run(binary: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}
