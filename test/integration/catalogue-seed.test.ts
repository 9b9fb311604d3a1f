import assert from 'node:assert/strict';
import { EventCatalogue } from '../../src/catalogue/store';
import { BUILTIN_EVENT_TYPES } from '../../src/catalogue/builtin';
import { openDatabase } from '../../src/database/open';
import { createLogger } from '../../src/logger';
import { getStack } from '../support/stack';

// Found running two APIs side by side (issue 12): both seed the catalogue at start; on a new database
// the second insert of an event type failed with a duplicate key and that API exited.
describe('catalogue seeding', function () {
  this.timeout(120_000);

  it('survives several API processes seeding a new database at the same moment', async () => {
    const url = await (await getStack()).createDatabase('catalogue_seed_test');
    const sources = await Promise.all(Array.from({ length: 4 }, () => openDatabase(url, createLogger('silent', 'test'))));
    try {
      const results = await Promise.allSettled(sources.map((ds) => new EventCatalogue(ds).seedBuiltins()));
      assert.deepEqual(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)), []);
      const rows: { n: number }[] = await sources[0].query('SELECT count(*)::int AS n FROM event_types WHERE builtin');
      assert.equal(rows[0].n, BUILTIN_EVENT_TYPES.length);
    } finally {
      await Promise.all(sources.map((ds) => ds.destroy()));
    }
  });
});
