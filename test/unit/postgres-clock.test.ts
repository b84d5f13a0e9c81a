import { expect } from 'chai';
import pg from 'pg';
import { PostgresClock } from '../../src/clock/postgres-clock.ts';
import { createLogger } from '../../src/log/logger.ts';
import { adminUrl } from '../support/databases.ts';

describe('the clock corrected against Postgres', () => {
  let pool: pg.Pool;
  const logger = createLogger({ level: 'error', format: 'json' });
  before(() => {
    pool = new pg.Pool({ connectionString: adminUrl(), max: 1 });
  });
  after(() => pool.end());

  async function postgresNowMs(): Promise<number> {
    const { rows } = await pool.query<{ ms: number }>(`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms`);
    return Number(rows[0]?.ms);
  }

  it('a host clock running 90 s slow still tells Postgres time, to within a few ms', async () => {
    const skewed = () => Date.now() - 90_000;
    const clock = new PostgresClock(pool, logger, 60_000, skewed);
    const sample = await clock.sync();
    expect(sample.offsetMs).to.be.closeTo(90_000, 50);
    const before = await postgresNowMs();
    const ours = clock.now().getTime();
    const after = await postgresNowMs();
    expect(ours).to.be.within(before - 5, after + 5);
  });

  it('a host clock running 5 minutes fast cannot make anything look due early', async () => {
    const clock = new PostgresClock(pool, logger, 60_000, () => Date.now() + 300_000);
    await clock.sync();
    expect(clock.now().getTime() - (await postgresNowMs())).to.be.below(5);
  });
});
