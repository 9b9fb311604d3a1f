import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createBuiltinRegistry } from '../../providers';
import type { RegisteredProvider } from '../../providers/registry';

// docs/API.md states facts that the provider registry decides: which secret fields each provider has and which
// fields each is bound to ("PATCH and secrets"), and which providers have a connection schema. These tests derive
// them from the registry (every built-in provider, the shell one included) and fail naming each disagreement, so
// a provider added or changed without its line in the contract fails here instead of drifting.
const API_MD = path.resolve(__dirname, '../../../docs/API.md');

type Kind = 'config' | 'connection';

/** "provider (kind) secret -> bound,fields" for every secret of every built-in provider. */
function fromRegistry(): string[] {
  const lines: string[] = [];
  const add = (p: RegisteredProvider, kind: Kind, paths: string[], bindings: Record<string, string[]>) => {
    for (const secret of paths) lines.push(line(p.definition.id, kind, secret, bindings[secret] ?? []));
  };
  for (const p of createBuiltinRegistry({ shellEnabled: true }).list()) {
    add(p, 'config', p.secretPaths, p.secretBindings);
    add(p, 'connection', p.connectionSecretPaths, p.connectionSecretBindings);
  }
  return lines.sort();
}

function line(provider: string, kind: Kind, secret: string, boundTo: readonly string[]): string {
  return `${provider} (${kind}) ${secret} -> ${[...boundTo].sort().join(',') || 'nothing'}`;
}

const backticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

/** The same lines read from the table under "## PATCH and secrets" in docs/API.md. */
function fromDoc(markdown: string): string[] {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('PATCH and secrets\n'));
  assert.ok(section, 'docs/API.md has a "## PATCH and secrets" section');
  const rows = section.split('\n').filter((l) => l.startsWith('|')).slice(2); // after the header and |---|
  assert.ok(rows.length > 0, 'the "PATCH and secrets" section has a table');
  const lines: string[] = [];
  for (const row of rows) {
    const cells = row.split('|').slice(1, -1).map((c) => c.trim());
    assert.equal(cells.length, 3, `a row of three cells: ${row}`);
    const m = /^(.+?) \((config|connection)\)$/.exec(cells[0]);
    assert.ok(m, `the first cell names providers and (config) or (connection): ${row}`);
    const secrets = backticked(cells[1]);
    assert.ok(secrets.length > 0, `the second cell names the secrets in backticks: ${row}`);
    for (const provider of m[1].split(',').map((s) => s.trim())) {
      for (const secret of secrets) lines.push(line(provider, m[2] as Kind, secret, backticked(cells[2])));
    }
  }
  return lines.sort();
}

function difference(a: string[], b: string[]): string[] {
  return a.filter((x) => !b.includes(x));
}

describe('docs/API.md agrees with the provider registry', () => {
  const doc = fs.readFileSync(API_MD, 'utf8');

  it('"PATCH and secrets" lists every secret of every built-in provider with the fields it is bound to', () => {
    const registry = fromRegistry();
    const documented = fromDoc(doc);
    assert.ok(registry.length >= 13, `the registry has secrets to compare (${registry.length})`);
    assert.deepEqual(
      { missingFromTheDoc: difference(registry, documented), notInTheRegistry: difference(documented, registry) },
      { missingFromTheDoc: [], notInTheRegistry: [] },
    );
  });

  it('the comparison notices a provider left out of the table and a wrong binding', () => {
    // the same table with the email row dropped and opsgenie bound to one field less must not match
    const altered = doc.replace(/^\| email \(connection\).*\n/m, '').replace('| `apiBaseUrl`, `region` |', '| `apiBaseUrl` |');
    assert.notEqual(altered, doc, 'the alteration applies to the current table');
    const documented = fromDoc(altered);
    assert.ok(difference(fromRegistry(), documented).some((l) => l.startsWith('email (connection) password')));
    assert.ok(difference(documented, fromRegistry()).includes('opsgenie (config) apiKey -> apiBaseUrl'));
  });

  it('the Provider shape names exactly the providers that have a connection schema', () => {
    const comment = doc.split('\n').find((l) => l.includes('connectionSchema?: JSON Schema'));
    assert.ok(comment, 'the Provider shape has a connectionSchema line');
    const documented = backticked(comment.slice(comment.indexOf('//'))).sort();
    const withSchema = createBuiltinRegistry({ shellEnabled: true })
      .list()
      .filter((p) => p.connectionJsonSchema)
      .map((p) => p.definition.id)
      .sort();
    assert.deepEqual(documented, withSchema);
  });
});
