import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import winston from 'winston';
import { EpisodeLog } from '../../src/log/episode.ts';
import { createLogger } from '../../src/log/logger.ts';

describe('an episode log: one line when it starts, a count while it lasts, one line when it ends', () => {
  function capture() {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const logger = createLogger({ level: 'debug', format: 'json', transports: [new winston.transports.Stream({ stream })] });
    return { logger, lines };
  }
  const messages = { level: 'warn', started: 'it started', continuing: 'it goes on', ended: 'it ended' } as const;

  it('logs 1,000 occurrences in one interval as one line, then their count, then the end', async () => {
    const { logger, lines } = capture();
    const episode = new EpisodeLog(logger, messages, 30);
    for (let i = 0; i < 1_000; i += 1) episode.record({ at: i });
    expect(lines.map((line) => line.message)).to.deep.equal(['it started']);
    expect(lines[0]).to.include({ level: 'warn', at: 0 });
    await sleep(45);
    expect(lines.map((line) => line.message)).to.deep.equal(['it started', 'it goes on']);
    expect(lines[1]).to.include({ count: 999 });
    await sleep(45);
    expect(lines.map((line) => line.message)).to.deep.equal(['it started', 'it goes on', 'it ended']);
    expect(lines[2]).to.include({ level: 'info', total: 1_000 });
    expect(episode.active).to.equal(false);
  });

  it('a new occurrence after the end starts a new episode; close() ends one at once', () => {
    const { logger, lines } = capture();
    const episode = new EpisodeLog(logger, messages, 10_000);
    episode.record();
    episode.record();
    episode.close();
    episode.record();
    episode.close();
    expect(lines.map((line) => [line.message, line.count ?? line.total ?? null])).to.deep.equal([
      ['it started', null],
      ['it goes on', 1],
      ['it ended', 2],
      ['it started', null],
      ['it ended', 1],
    ]);
  });

  it('a state (holds) lasts through quiet intervals and ends at the first quiet one after it stops holding; without `continuing`, no counts', async () => {
    const { logger, lines } = capture();
    let holding = true;
    const episode = new EpisodeLog(logger, { level: 'warn', started: 'it started', ended: 'it ended' }, 20, () => holding);
    episode.record();
    episode.record();
    await sleep(70);
    expect(lines.map((line) => line.message)).to.deep.equal(['it started']);
    expect(episode.active).to.equal(true);
    holding = false;
    await sleep(50);
    expect(lines.map((line) => [line.message, line.total ?? null])).to.deep.equal([
      ['it started', null],
      ['it ended', 2],
    ]);
  });
});
