import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

// The README is a front page that points into docs/, and the docs point at each other's sections: every relative
// link of README.md and docs/*.md must name a file that exists and, with a #fragment, a heading of that file
// (GitHub's anchor rule), so moving a section without fixing its links fails here.
const ROOT = path.resolve(__dirname, '../../..');

/** GitHub's anchor of a heading: lower case, punctuation but `-` and `_` dropped, spaces to `-`. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

function anchorsIn(file: string): Set<string> {
  const text = fs.readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1])));
}

function brokenLinks(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  const broken: string[] = [];
  for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    const link = m[1];
    if (/^[a-z]+:/i.test(link) || link === 'url') continue; // http(s), mailto; `[x](url)` is quoted markdown
    const [target, fragment] = link.split('#');
    const resolved = target ? path.resolve(path.dirname(file), target) : file;
    const where = `${path.relative(ROOT, file)}: ${link}`;
    if (!fs.existsSync(resolved)) broken.push(`${where} (no such file)`);
    else if (fragment && !anchorsIn(resolved).has(fragment)) broken.push(`${where} (no such heading)`);
  }
  return broken;
}

describe('links of the README and docs/', () => {
  const files = [path.join(ROOT, 'README.md'), ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => path.join(ROOT, 'docs', f))];

  it('every relative link names a file that exists and a heading it has', () => {
    assert.ok(files.length >= 10, `the README and the docs pages (${files.length})`);
    assert.deepEqual(files.flatMap(brokenLinks), []);
  });

  it('reads anchors as GitHub makes them, and notices a link to a heading that is not there', () => {
    assert.equal(anchorOf('Production topology on one machine (`npm run cluster`)'), 'production-topology-on-one-machine-npm-run-cluster');
    assert.equal(anchorOf("The hub's own events"), 'the-hubs-own-events');
    const tmp = fs.mkdtempSync(path.join(ROOT, 'dist', 'docs-links-'));
    try {
      fs.writeFileSync(path.join(tmp, 'a.md'), '# A\n\n## Real heading\n\n[ok](#real-heading) [gone](#no-heading) [file](b.md)\n');
      assert.deepEqual(brokenLinks(path.join(tmp, 'a.md')).map((b) => b.replace(/^.*: /, '')), ['#no-heading (no such heading)', 'b.md (no such file)']);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
