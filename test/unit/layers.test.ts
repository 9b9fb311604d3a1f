import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { importsOf, typeScriptFiles, type ImportEdge } from '../support/imports';

// compiled to dist/test/unit: the repository root is three levels up
const ROOT = path.resolve(__dirname, '../../..');

/*
 * The layers of docs/DESIGN.md ("Layers"). Dependencies point one way:
 *   src/ -> activities/ -> providers/ -> providers/shared/
 * with two side layers: workflows/ (deterministic code, its own pure helpers) and entities/ (the data model).
 * Each folder lists what its files may reference; anything else (src/ from a provider, test/ from product
 * code, ...) fails naming the file, the line and the import.
 */
type Zone = 'src' | 'activities' | 'providers' | 'providers/shared' | 'workflows' | 'entities' | 'outside';

/** Most specific first: providers/shared/ is a layer of its own below providers/. */
const ZONES: Exclude<Zone, 'outside'>[] = ['providers/shared', 'providers', 'activities', 'workflows', 'entities', 'src'];

/** The src/ modules activities may use: the services the worker wires them with (never a root, the HTTP side or config). */
const ACTIVITY_SERVICES = ['src/catalogue', 'src/deliveries', 'src/secrets', 'src/targets', 'src/temporal'];

function zoneOf(relative: string): Zone {
  return ZONES.find((z) => relative === z || relative.startsWith(`${z}/`)) ?? 'outside';
}

function under(relative: string, folder: string): boolean {
  return relative === folder || relative === `${folder}.ts` || relative.startsWith(`${folder}/`);
}

/** Why `from` may not reference `target`, or undefined when the layers allow it. */
function violation(from: Zone, target: string, edge: Pick<ImportEdge, 'typeOnly'>): string | undefined {
  const to = zoneOf(target);
  switch (from) {
    case 'providers/shared':
      if (to === 'providers/shared') return undefined;
      if (under(target, 'providers/types') && edge.typeOnly) return undefined; // the provider contract's types
      return 'providers/shared/ imports only providers/shared/ (and `import type` from providers/types)';
    case 'providers':
      return ['providers', 'providers/shared', 'entities'].includes(to) ? undefined : 'providers/ imports only providers/, providers/shared/ and entities/';
    case 'entities':
      return to === 'entities' ? undefined : 'entities/ imports only entities/';
    case 'workflows':
      if (to === 'workflows') return undefined;
      if (to === 'activities' && edge.typeOnly) return undefined; // the activity interfaces it proxies
      return 'workflows/ imports only workflows/ (and `import type` from activities/)';
    case 'activities':
      if (['activities', 'providers', 'providers/shared', 'workflows', 'entities'].includes(to)) return undefined;
      if (ACTIVITY_SERVICES.some((s) => under(target, s))) return undefined;
      if (under(target, 'src/logger') && edge.typeOnly) return undefined;
      return `activities/ imports from src/ only ${ACTIVITY_SERVICES.map((s) => `${s}/`).join(', ')} and \`import type\` from src/logger`;
    case 'src':
      return to === 'outside' ? 'src/ imports only src/, activities/, providers/, workflows/ and entities/' : undefined;
    default:
      return undefined;
  }
}

/** Every reference of the product folders that breaks the layers, as `file:line imports 'spec' (rule)`. */
function upwardImports(): string[] {
  const found: string[] = [];
  for (const folder of ['src', 'activities', 'providers', 'workflows', 'entities']) {
    for (const file of typeScriptFiles(path.join(ROOT, folder))) {
      const relFile = path.relative(ROOT, file).split(path.sep).join('/');
      for (const edge of importsOf(file, fs.readFileSync(file, 'utf8'))) {
        if (!edge.specifier.startsWith('.')) continue; // a package
        const target = path.relative(ROOT, path.resolve(path.dirname(file), edge.specifier)).split(path.sep).join('/');
        const why = violation(zoneOf(relFile), target, edge);
        if (why) found.push(`${relFile}:${edge.line} imports '${edge.specifier}' (${why})`);
      }
    }
  }
  return found;
}

describe('layers (docs/DESIGN.md "Layers")', () => {
  it('no file of src/, activities/, providers/, workflows/ or entities/ imports against the layers', () => {
    const found = upwardImports();
    assert.deepEqual(found, [], `imports against the layers:\n  ${found.join('\n  ')}`);
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
  });

  it('refuses the upward imports it is there to catch', () => {
    const value = { typeOnly: false };
    const type = { typeOnly: true };
    assert.match(violation('providers', 'src/sanitise', value) ?? '', /providers\/ imports only/);
    assert.match(violation('providers', 'activities/index', type) ?? '', /providers\/ imports only/);
    assert.match(violation('providers/shared', 'providers/types', value) ?? '', /providers\/shared\/ imports only/);
    assert.match(violation('providers/shared', 'providers/registry', type) ?? '', /providers\/shared\/ imports only/);
    assert.match(violation('entities', 'src/db', value) ?? '', /entities\/ imports only/);
    assert.match(violation('workflows', 'activities/index', value) ?? '', /workflows\/ imports only/);
    assert.match(violation('workflows', 'providers/types', type) ?? '', /workflows\/ imports only/);
    assert.match(violation('activities', 'src/main/worker', value) ?? '', /activities\/ imports from src\/ only/);
    assert.match(violation('activities', 'src/config', type) ?? '', /activities\/ imports from src\/ only/);
    assert.match(violation('activities', 'src/logger', value) ?? '', /activities\/ imports from src\/ only/);
    assert.match(violation('src', 'test/support/stack', value) ?? '', /src\/ imports only/);
    // and lets the allowed ones through
    assert.equal(violation('workflows', 'activities', type), undefined);
    assert.equal(violation('activities', 'src/secrets/fields', value), undefined);
    assert.equal(violation('activities', 'src/logger', type), undefined);
    assert.equal(violation('providers', 'providers/shared/sanitise', value), undefined);
    assert.equal(violation('src', 'providers/registry', value), undefined);
  });
});
