/**
 * docs/schema.sql is the schema the migrations produce. A migration that changes the
 * schema must come with its new dump (`npm run db:dump`), so the change is reviewed as
 * a schema, not only as a script (graphile/worker's "the database schema has changed,
 * please run db:dump").
 */
import { expect } from 'chai';
import { committedSchema, dumpSchema } from '../../scripts/db/schema-dump.ts';
import { createTestDatabase } from '../support/databases.ts';

describe('the committed schema dump', () => {
  it('is what the migrations produce (else: npm run db:dump, and review the difference)', async () => {
    const database = await createTestDatabase();
    try {
      const dumped = await dumpSchema(database.url);
      const committed = committedSchema();
      if (dumped !== committed) {
        const [d, c] = [dumped.split('\n'), committed.split('\n')];
        const first = d.findIndex((line, i) => line !== c[i]);
        expect.fail(
          `the database schema has changed: run npm run db:dump. First difference at line ${first + 1}:\n  migrations: ${d[first]}\n  docs/schema.sql: ${c[first]}`,
        );
      }
    } finally {
      await database.drop();
    }
  });
});
