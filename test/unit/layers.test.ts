import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importsOf, typeScriptFiles, type ImportEdge } from '../support/imports';

// compiled to dist/test/unit: the repository root is three levels up
const ROOT = path.resolve(__dirname, '../../..');

/*
 * The layers of docs/DESIGN.md ("Layers"). Dependencies point one way:
 *   src/ -> activities/ -> providers/ -> providers/shared/
 * with side layers: workflows/ (deterministic code, its own pure helpers), entities/ (the data model) and ui/
 * (the admin UI, which knows the API only through its generated schema). Each folder lists what its files
 * may reference, directly and through everything they load (reachability: a file may not reach, through a
 * chain of imports, what it may not import). A provider's folder never reaches another provider's folder.
 * Anything else fails naming the file, the line and the import (and the chain, when reached indirectly).
 */
type Zone = 'src' | 'activities' | 'providers' | 'providers/shared' | 'workflows' | 'entities' | 'ui' | 'outside';

/** Most specific first: providers/shared/ is a layer of its own below providers/. */
const ZONES: Exclude<Zone, 'outside'>[] = ['providers/shared', 'providers', 'activities', 'workflows', 'entities', 'src', 'ui'];
/** The folders judged. */
const PRODUCT = ['src', 'activities', 'providers', 'workflows', 'entities', 'ui'];

/**
 * The src/ modules activities may use: the services the worker wires them with, and src/http/problem (the
 * problem type those services throw; it loads no HTTP server). Never a root, the rest of the HTTP side or config.
 */
const ACTIVITY_SERVICES = ['src/catalogue', 'src/database', 'src/deliveries', 'src/http/problem', 'src/secrets', 'src/targets', 'src/temporal'];

/** Folders of providers/ that are toolkits every provider uses, not providers. */
const PROVIDER_TOOLKITS = ['shared', 'http'];

function zoneOf(relative: string): Zone {
  return ZONES.find((z) => relative === z || relative.startsWith(`${z}/`)) ?? 'outside';
}

function under(relative: string, folder: string): boolean {
  if (!relative.startsWith(folder)) return false;
  const rest = relative.slice(folder.length);
  return rest === '' || /^\.(ts|tsx|mts)$/.test(rest) || rest.startsWith('/');
}

/** The provider whose folder holds `relative` (`providers/slack/x.ts` -> `slack`); undefined outside one. */
function providerOf(relative: string): string | undefined {
  const m = /^providers\/([^/]+)\//.exec(relative);
  return m && !PROVIDER_TOOLKITS.includes(m[1]) ? m[1] : undefined;
}

/** Why `from` (a file, relative to the root) may not reference `target`, or undefined when the layers allow it. */
function violation(from: string, target: string, edge: Pick<ImportEdge, 'typeOnly'>): string | undefined {
  const to = zoneOf(target);
  switch (zoneOf(from)) {
    case 'providers/shared':
      if (to === 'providers/shared') return undefined;
      if (under(target, 'providers/types') && edge.typeOnly) return undefined; // the provider contract's types
      return 'providers/shared/ imports only providers/shared/ (and `import type` from providers/types)';
    case 'providers': {
      if (!['providers', 'providers/shared', 'entities'].includes(to)) return 'providers/ imports only providers/, providers/shared/ and entities/';
      const mine = providerOf(from);
      const theirs = providerOf(target);
      if (mine && theirs && mine !== theirs) {
        return `a provider imports no other provider (providers/${mine}/ -> providers/${theirs}/; shared code belongs in providers/shared/)`;
      }
      return undefined;
    }
    case 'entities':
      return to === 'entities' ? undefined : 'entities/ imports only entities/';
    case 'workflows':
      if (to === 'workflows') return undefined;
      if (to === 'activities' && edge.typeOnly) return undefined; // the activity interfaces it proxies
      if (to === 'entities' && edge.typeOnly) return undefined; // the data model's types (one list of delivery statuses)
      return 'workflows/ imports only workflows/ (and `import type` from activities/ and entities/)';
    case 'activities':
      if (['activities', 'providers', 'providers/shared', 'workflows', 'entities'].includes(to)) return undefined;
      if (ACTIVITY_SERVICES.some((s) => under(target, s))) return undefined;
      if (under(target, 'src/logger') && edge.typeOnly) return undefined;
      return `activities/ imports from src/ only ${ACTIVITY_SERVICES.map((s) => `${s}/`).join(', ')} and \`import type\` from src/logger`;
    case 'src':
      return ['outside', 'ui'].includes(to) ? 'src/ imports only src/, activities/, providers/, workflows/ and entities/' : undefined;
    case 'ui':
      return to === 'ui' ? undefined : 'ui/ imports only ui/ (the API through its generated schema, never the server code)';
    default:
      return undefined;
  }
}

interface Reference {
  /** The referenced file relative to the root (extension resolved where the file exists). */
  target: string;
  edge: ImportEdge;
}

/** The file a relative specifier names: as written, else with a TypeScript extension, else a folder's index. */
function resolveSpecifier(root: string, fromAbs: string, specifier: string): string {
  const base = path.resolve(path.dirname(fromAbs), specifier);
  const candidates = [base, ...['.ts', '.tsx', '.mts'].map((e) => base + e), ...['index.ts', 'index.tsx'].map((i) => path.join(base, i))];
  const found = candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile()) ?? base;
  return path.relative(root, found).split(path.sep).join('/');
}

/** Every relative reference of every product file under `root`, by file (relative, `/`-separated). */
function referenceGraph(root: string): Map<string, Reference[]> {
  const graph = new Map<string, Reference[]>();
  for (const folder of PRODUCT) {
    for (const file of typeScriptFiles(path.join(root, folder))) {
      const relFile = path.relative(root, file).split(path.sep).join('/');
      const refs: Reference[] = [];
      for (const edge of importsOf(file, fs.readFileSync(file, 'utf8'))) {
        if (!edge.specifier.startsWith('.')) continue; // a package
        refs.push({ target: resolveSpecifier(root, file, edge.specifier), edge });
      }
      graph.set(relFile, refs);
    }
  }
  return graph;
}

/**
 * Every reference that breaks the layers, as `file:line imports 'spec' (rule)`; and every file reached through
 * a chain of runtime imports (type-only ones are erased, so they load nothing) that its file may not import, as
 * `file reaches target through a -> b -> target (rule)`.
 */
function layerViolations(root: string): string[] {
  const graph = referenceGraph(root);
  const found: string[] = [];
  for (const [file, refs] of graph) {
    for (const { target, edge } of refs) {
      const why = violation(file, target, edge);
      if (why) found.push(`${file}:${edge.line} imports '${edge.specifier}' (${why})`);
    }
    // breadth first over runtime imports: the shortest chain to each file reached
    const direct = new Set(refs.map((r) => r.target));
    const via = new Map<string, string>([[file, '']]);
    const queue = [file];
    while (queue.length) {
      const at = queue.shift()!;
      for (const { target, edge } of graph.get(at) ?? []) {
        if (edge.typeOnly || via.has(target)) continue;
        via.set(target, at);
        queue.push(target);
        if (direct.has(target)) continue; // judged above, as the import itself
        const why = violation(file, target, { typeOnly: false });
        if (why) {
          const chain = [target];
          for (let step = at; step !== file; step = via.get(step)!) chain.unshift(step);
          found.push(`${file} reaches ${target} through ${chain.join(' -> ')} (${why})`);
        }
      }
    }
  }
  return found;
}

describe('layers (docs/DESIGN.md "Layers")', function () {
  this.timeout(60_000); // parses every product file with the TypeScript compiler

  it('no file of src/, activities/, providers/, workflows/, entities/ or ui/ imports or reaches against the layers', () => {
    const found = layerViolations(ROOT);
    assert.deepEqual(found, [], `imports against the layers:\n  ${found.join('\n  ')}`);
  });

  it('judges the ui/ files too (.tsx), and the provider folders one by one', () => {
    const graph = referenceGraph(ROOT);
    assert.ok([...graph.keys()].some((f) => f.startsWith('ui/src/') && f.endsWith('.tsx')), 'the ui/ pages are scanned');
    const providers = new Set([...graph.keys()].map(providerOf).filter(Boolean));
    for (const p of ['slack', 'jira', 'webhook', 'teams']) assert.ok(providers.has(p), p);
    assert.ok(!providers.has('shared') && !providers.has('http'));
  });

  it('fails on a deliberate bad import of each forbidden kind (a temporary fixture tree)', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'layers-'));
    const files: Record<string, string> = {
      // allowed: these must not be reported
      'src/main/worker.ts': "import { attempt } from '../../activities/attempt';\nexport const w = attempt;\n",
      'src/config.ts': 'export const config = {};\n',
      'src/logger.ts': 'export type Logger = unknown;\n',
      'src/deliveries/log.ts': "import { shared } from '../../providers/shared/sanitise';\nexport const log = shared;\n",
      'src/deliveries/uses-config.ts': "import { config } from '../config';\nexport const usesConfig = config;\n",
      'activities/attempt.ts': "import { log } from '../src/deliveries/log';\nimport type { Logger } from '../src/logger';\nexport const attempt = log;\nexport type L = Logger;\n",
      'providers/types.ts': 'export type ProviderDefinition = unknown;\n',
      'providers/index.ts': "import { slack } from './slack';\nimport { jira } from './jira';\nexport const all = [slack, jira];\n",
      'providers/shared/sanitise.ts': "import type { ProviderDefinition } from '../types';\nexport const shared = 1;\nexport type P = ProviderDefinition;\n",
      'providers/http/outcome.ts': "import { shared } from '../shared/sanitise';\nexport const outcome = shared;\n",
      'providers/slack/index.ts': "import { outcome } from '../http/outcome';\nimport { shared } from '../shared/sanitise';\nexport const slack = outcome + shared;\n",
      'providers/jira/index.ts': "import { shared } from '../shared/sanitise';\nexport const jira = shared;\n",
      'workflows/delivery.ts': "import type { attempt } from '../activities/attempt';\nexport type A = typeof attempt;\n",
      'entities/delivery.entity.ts': 'export class DeliveryEntity {}\n',
      'ui/src/lib/format.ts': 'export const when = 1;\n',
      'ui/src/pages/targets.tsx': "import { when } from '../lib/format';\nexport const Page = () => <div>{when}</div>;\n",
      // one bad import of each kind
      'providers/webhook/index.ts': "import { config } from '../../src/config';\nexport const webhook = config;\n",
      'providers/shared/format.ts': "import { slack } from '../slack';\nexport const format = slack;\n",
      'providers/teams/index.ts': "import { jira } from '../jira';\nexport const teams = jira;\n",
      'providers/email/index.ts': "import { all } from '..';\nexport const email = all;\n",
      'entities/bad.entity.ts': "import { config } from '../src/config';\nexport const bad = config;\n",
      'workflows/bad.ts': "import { attempt } from '../activities/attempt';\nexport const bad = attempt;\n",
      'activities/bad.ts': "import { config } from '../src/config';\nexport const bad = config;\n",
      'activities/reaches.ts': "import { usesConfig } from '../src/deliveries/uses-config';\nexport const reaches = usesConfig;\n",
      'src/bad.ts': "import { stack } from '../test/support/stack';\nexport const bad = stack;\n",
      'src/ui-import.ts': "import { when } from '../ui/src/lib/format';\nexport const bad = when;\n",
      'ui/src/pages/bad.tsx': "import { config } from '../../../src/config';\nexport const Bad = () => <p>{String(config)}</p>;\n",
      'test/support/stack.ts': 'export const stack = 1;\n',
    };
    try {
      for (const [rel, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
        fs.writeFileSync(path.join(root, rel), text);
      }
      const found = layerViolations(root).sort();
      const expected = [
        /^activities\/bad\.ts:1 imports '\.\.\/src\/config' \(activities\/ imports from src\/ only/,
        /^activities\/reaches\.ts reaches src\/config\.ts through src\/deliveries\/uses-config\.ts -> src\/config\.ts \(activities\/ imports from src\/ only/,
        /^entities\/bad\.entity\.ts:1 imports '\.\.\/src\/config' \(entities\/ imports only entities\/\)/,
        /^providers\/email\/index\.ts reaches providers\/jira\/index\.ts through providers\/index\.ts -> providers\/jira\/index\.ts \(a provider imports no other provider/,
        /^providers\/email\/index\.ts reaches providers\/slack\/index\.ts through providers\/index\.ts -> providers\/slack\/index\.ts \(a provider imports no other provider/,
        /^providers\/shared\/format\.ts reaches providers\/http\/outcome\.ts through providers\/slack\/index\.ts -> providers\/http\/outcome\.ts \(providers\/shared\/ imports only/,
        /^providers\/shared\/format\.ts:1 imports '\.\.\/slack' \(providers\/shared\/ imports only/,
        /^providers\/teams\/index\.ts:1 imports '\.\.\/jira' \(a provider imports no other provider \(providers\/teams\/ -> providers\/jira\/;/,
        /^providers\/webhook\/index\.ts:1 imports '\.\.\/\.\.\/src\/config' \(providers\/ imports only/,
        /^src\/bad\.ts:1 imports '\.\.\/test\/support\/stack' \(src\/ imports only/,
        /^src\/ui-import\.ts:1 imports '\.\.\/ui\/src\/lib\/format' \(src\/ imports only/,
        /^ui\/src\/pages\/bad\.tsx:1 imports '\.\.\/\.\.\/\.\.\/src\/config' \(ui\/ imports only ui\/ /,
        /^workflows\/bad\.ts reaches providers\/shared\/sanitise\.ts through activities\/attempt\.ts -> src\/deliveries\/log\.ts -> providers\/shared\/sanitise\.ts \(workflows\/ imports only/,
        /^workflows\/bad\.ts reaches src\/deliveries\/log\.ts through activities\/attempt\.ts -> src\/deliveries\/log\.ts \(workflows\/ imports only/,
        /^workflows\/bad\.ts:1 imports '\.\.\/activities\/attempt' \(workflows\/ imports only/,
      ];
      assert.equal(found.length, expected.length, `found:\n  ${found.join('\n  ')}`);
      for (const [i, re] of expected.entries()) assert.match(found[i], re);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('finds every kind of module reference, and tells type-only ones apart', () => {
    const text = [
      "import { a } from './value';",
      "import type { B } from './type-clause';",
      "import { type C, type D } from './all-type-names';",
      "import E, { type F } from './default-and-type';",
      "import './side-effect';",
      "export { g } from './re-export';",
      "export type { H } from './type-re-export';",
      "export * from './star';",
      "import i = require('./import-equals');",
      "const j = require('./required');",
      "const k = import('./dynamic');",
      "type L = import('./import-type').L;",
      "const m = require.resolve('./resolved');",
      "// import { n } from './in-a-comment';",
      "const o = \"from './in-a-string'\";",
    ].join('\n');
    const edges = importsOf('sample.ts', text).map((e) => [e.specifier, e.typeOnly, e.line]);
    assert.deepEqual(edges, [
      ['./value', false, 1],
      ['./type-clause', true, 2],
      ['./all-type-names', true, 3],
      ['./default-and-type', false, 4],
      ['./side-effect', false, 5],
      ['./re-export', false, 6],
      ['./type-re-export', true, 7],
      ['./star', false, 8],
      ['./import-equals', false, 9],
      ['./required', false, 10],
      ['./dynamic', false, 11],
      ['./import-type', true, 12],
      ['./resolved', false, 13],
    ]);
    // JSX does not hide the imports of a .tsx file
    const tsx = importsOf('page.tsx', "import { x } from './x';\nexport const P = () => <a href={'./y'}>{x}</a>;\nimport type { Y } from './y';\n");
    assert.deepEqual(tsx.map((e) => [e.specifier, e.typeOnly]), [['./x', false], ['./y', true]]);
  });

  it('refuses the upward imports it is there to catch', () => {
    const value = { typeOnly: false };
    const type = { typeOnly: true };
    assert.match(violation('providers/slack/index.ts', 'src/sanitise', value) ?? '', /providers\/ imports only/);
    assert.match(violation('providers/registry.ts', 'activities/index', type) ?? '', /providers\/ imports only/);
    assert.match(violation('providers/slack/message.ts', 'providers/jira/content.ts', value) ?? '', /a provider imports no other provider/);
    assert.match(violation('providers/shared/format.ts', 'providers/types', value) ?? '', /providers\/shared\/ imports only/);
    assert.match(violation('providers/shared/format.ts', 'providers/registry', type) ?? '', /providers\/shared\/ imports only/);
    assert.match(violation('entities/x.entity.ts', 'src/db', value) ?? '', /entities\/ imports only/);
    assert.match(violation('workflows/delivery.ts', 'activities/index', value) ?? '', /workflows\/ imports only/);
    assert.match(violation('workflows/delivery.ts', 'providers/types', type) ?? '', /workflows\/ imports only/);
    assert.match(violation('activities/attempt.ts', 'src/main/worker', value) ?? '', /activities\/ imports from src\/ only/);
    assert.match(violation('activities/attempt.ts', 'src/config', type) ?? '', /activities\/ imports from src\/ only/);
    assert.match(violation('activities/attempt.ts', 'src/logger', value) ?? '', /activities\/ imports from src\/ only/);
    assert.match(violation('src/db.ts', 'test/support/stack', value) ?? '', /src\/ imports only/);
    assert.match(violation('src/db.ts', 'ui/src/lib/format', value) ?? '', /src\/ imports only/);
    assert.match(violation('ui/src/pages/targets.tsx', 'src/targets/key.ts', type) ?? '', /ui\/ imports only ui\//);
    // and lets the allowed ones through
    assert.equal(violation('workflows/delivery.ts', 'activities', type), undefined);
    assert.equal(violation('workflows/types.ts', 'entities/delivery.entity.ts', type), undefined);
    assert.match(violation('workflows/types.ts', 'entities/delivery.entity.ts', value) ?? '', /workflows\/ imports only/);
    assert.equal(violation('activities/attempt.ts', 'src/secrets/fields', value), undefined);
    assert.equal(violation('activities/attempt.ts', 'src/targets/key.ts', value), undefined);
    assert.equal(violation('activities/attempt.ts', 'src/logger', type), undefined);
    assert.equal(violation('providers/slack/index.ts', 'providers/shared/sanitise', value), undefined);
    assert.equal(violation('providers/slack/index.ts', 'providers/http/outcome.ts', value), undefined);
    assert.equal(violation('providers/slack/index.ts', 'providers/slack/message.ts', value), undefined);
    assert.equal(violation('providers/index.ts', 'providers/slack/index.ts', value), undefined);
    assert.equal(violation('providers/shared/format.ts', 'providers/types.ts', type), undefined);
    assert.equal(violation('src/providers.ts', 'providers/registry', value), undefined);
    assert.equal(violation('ui/src/pages/targets.tsx', 'ui/src/lib/format.ts', value), undefined);
  });
});
