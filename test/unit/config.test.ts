import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ConfigError, loadConfig, redactUrl } from '../../src/config/config.ts';

const base = { DATABASE_URL: 'postgres://app:secret@127.0.0.1:5432/klaxon', REDIS_URL: 'redis://127.0.0.1:6379' };

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected the configuration to be refused');
}

describe('configuration', () => {
  it('defaults to the seed timetable: 5 min, 15 min, 60 min', () => {
    expect(loadConfig(base).escalation.levelDelaysMs).to.deep.equal([300_000, 900_000, 3_600_000]);
  });

  it('takes level delays from ESCALATION_LEVELS', () => {
    expect(loadConfig({ ...base, ESCALATION_LEVELS: '250ms,30s,5m' }).escalation.levelDelaysMs).to.deep.equal([250, 30_000, 300_000]);
  });

  it('names the setting and the rule for a bad duration', () => {
    expect(problemsOf({ ...base, ESCALATION_LEVELS: '5m,soon' })).to.deep.equal([
      'ESCALATION_LEVELS: level 2: "soon" is not a duration (e.g. 250ms, 30s, 5m, 1h, 1d)',
    ]);
  });

  it('refuses level delays outside 100ms..7d', () => {
    expect(problemsOf({ ...base, ESCALATION_LEVELS: '5m,10ms' })[0]).to.match(/level 2: "10ms" must be between 100ms and 7d/);
  });

  it('reports every problem at once, not only the first', () => {
    const problems = problemsOf({ REDIS_URL: 'http://x', PORT: '99999', LOG_LEVEL: 'loud' });
    expect(problems).to.have.length(4);
    expect(problems.join('\n')).to.include('DATABASE_URL: is required').and.include('REDIS_URL: must start with redis:');
  });

  it('lets a CONFIG_FILE override the defaults, and the environment override both', () => {
    const file = join(tmpdir(), `klaxon-config-${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ http: { port: 4000 }, escalation: { levels: ['1m'] } }));
    const config = loadConfig({ ...base, CONFIG_FILE: file, PORT: '4100' });
    expect(config.http.port).to.equal(4100);
    expect(config.http.host).to.equal('127.0.0.1');
    expect(config.escalation.levelDelaysMs).to.deep.equal([60_000]);
  });

  it('serves worker metrics on port 9464 unless WORKER_METRICS_PORT says otherwise (0: off), and refuses a non-port', () => {
    expect(loadConfig(base).worker.metricsPort).to.equal(9464);
    expect(loadConfig({ ...base, WORKER_METRICS_PORT: '0' }).worker.metricsPort).to.equal(0);
    expect(problemsOf({ ...base, WORKER_METRICS_PORT: '70000' })).to.deep.equal(['WORKER_METRICS_PORT: "70000" is not a port (0-65535)']);
  });

  it('warms a starting worker up with 5,000 executions on copies of the tables unless WORKER_WARM_UP says otherwise (0: none, at most 10,000)', () => {
    expect(loadConfig(base).worker.warmUp).to.equal(5000);
    expect(loadConfig({ ...base, WORKER_WARM_UP: '0' }).worker.warmUp).to.equal(0);
    expect(problemsOf({ ...base, WORKER_WARM_UP: '10001' })).to.deep.equal(['WORKER_WARM_UP: "10001" must be a whole number from 0 to 10000']);
    expect(problemsOf({ ...base, WORKER_WARM_UP: '-1' })).to.deep.equal(['WORKER_WARM_UP: "-1" must be a whole number from 0 to 10000']);
  });

  it('warms a starting API up with 1,000 requests on copies of the tables unless API_WARM_UP says otherwise (0: none, at most 10,000)', () => {
    expect(loadConfig(base).http.warmUp).to.equal(1000);
    expect(loadConfig({ ...base, API_WARM_UP: '0' }).http.warmUp).to.equal(0);
    expect(problemsOf({ ...base, API_WARM_UP: '10001' })).to.deep.equal(['API_WARM_UP: "10001" must be a whole number from 0 to 10000']);
    expect(problemsOf({ ...base, API_WARM_UP: '1e3' })).to.deep.equal(['API_WARM_UP: "1e3" must be a whole number from 0 to 10000']);
  });

  it('lets a batch in flight hold the next claim back 50 ms unless WORKER_OVERLAP_AFTER says otherwise (0ms: not at all, at most 1m)', () => {
    expect(loadConfig(base).worker.overlapAfterMs).to.equal(50);
    expect(loadConfig({ ...base, WORKER_OVERLAP_AFTER: '0ms' }).worker.overlapAfterMs).to.equal(0);
    expect(loadConfig({ ...base, WORKER_OVERLAP_AFTER: '1m' }).worker.overlapAfterMs).to.equal(60_000);
    // Longer is a batch stuck, not slow; past 24.8 days Node's timer would fire at once.
    expect(problemsOf({ ...base, WORKER_OVERLAP_AFTER: '30d' })).to.deep.equal(['WORKER_OVERLAP_AFTER: "30d" must be 0ms (at once) or between 1ms and 1m']);
    expect(problemsOf({ ...base, WORKER_OVERLAP_AFTER: '-5ms' })).to.deep.equal([
      'WORKER_OVERLAP_AFTER: "-5ms" is not a duration (e.g. 250ms, 30s, 5m, 1h, 1d)',
    ]);
    expect(problemsOf({ ...base, WORKER_OVERLAP_AFTER: '\u001b[2J50ms' })).to.deep.equal([
      'WORKER_OVERLAP_AFTER: "\\u001b[2J50ms" is not a duration (e.g. 250ms, 30s, 5m, 1h, 1d)',
    ]);
  });

  it('keeps idle API connections 75 s unless HTTP_KEEP_ALIVE_TIMEOUT says otherwise, between 1s and 15m', () => {
    expect(loadConfig(base).http.keepAliveTimeoutMs).to.equal(75_000);
    expect(loadConfig({ ...base, HTTP_KEEP_ALIVE_TIMEOUT: '620s' }).http.keepAliveTimeoutMs).to.equal(620_000);
    // 0 would keep an idle connection forever (Node's meaning of 0).
    expect(problemsOf({ ...base, HTTP_KEEP_ALIVE_TIMEOUT: '0s' })).to.deep.equal(['HTTP_KEEP_ALIVE_TIMEOUT: "0s" must be between 1s and 15m']);
    expect(problemsOf({ ...base, HTTP_KEEP_ALIVE_TIMEOUT: '1h' })).to.deep.equal(['HTTP_KEEP_ALIVE_TIMEOUT: "1h" must be between 1s and 15m']);
    expect(problemsOf({ ...base, HTTP_KEEP_ALIVE_TIMEOUT: '75' })).to.deep.equal([
      'HTTP_KEEP_ALIVE_TIMEOUT: "75" is not a duration (e.g. 250ms, 30s, 5m, 1h, 1d)',
    ]);
    // A control character is shown escaped: it must not reach the terminal the process starts in.
    expect(problemsOf({ ...base, HTTP_KEEP_ALIVE_TIMEOUT: '\u001b[2J75s' })).to.deep.equal([
      'HTTP_KEEP_ALIVE_TIMEOUT: "\\u001b[2J75s" is not a duration (e.g. 250ms, 30s, 5m, 1h, 1d)',
    ]);
    expect(problemsOf({ ...base, HTTP_KEEP_ALIVE_TIMEOUT: '9'.repeat(30) + 'd' })).to.deep.equal([
      `HTTP_KEEP_ALIVE_TIMEOUT: "${'9'.repeat(30)}d" is too large`,
    ]);
    const file = join(tmpdir(), `klaxon-keepalive-${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ http: { keepAliveTimeout: 75 } }));
    expect(problemsOf({ ...base, CONFIG_FILE: file })).to.deep.equal(['http.keepAliveTimeout: must be a non-empty string']);
  });

  it('acts as klaxon_app unless DATABASE_ROLE says otherwise (empty: the login as it is), and refuses a role name that needs quoting', () => {
    expect(loadConfig(base).database.role).to.equal('klaxon_app');
    expect(loadConfig({ ...base, DATABASE_ROLE: '' }).database.role).to.equal('');
    expect(loadConfig({ ...base, DATABASE_ROLE: 'ops_app' }).database.role).to.equal('ops_app');
    expect(problemsOf({ ...base, DATABASE_ROLE: 'app -c role=postgres' })[0]).to.match(/^DATABASE_ROLE: must be empty or a role name/);
  });

  it('refuses a key in a configuration file that names no setting (a typo is not silently ignored)', () => {
    const file = join(tmpdir(), `klaxon-config-typo-${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ http: { prot: 4000 }, worker: { lease: '10s', leese: '5s' }, escalatoin: {} }));
    expect(problemsOf({ ...base, CONFIG_FILE: file })).to.deep.equal([
      'http.prot: is not a known setting',
      'worker.leese: is not a known setting',
      'escalatoin: is not a known setting',
    ]);
  });

  it('names a file setting by its key, and an environment setting by its variable', () => {
    const file = join(tmpdir(), `klaxon-config-bad-${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ worker: { batchSize: 0, lease: 'forever' }, log: { level: 'loud' } }));
    expect(problemsOf({ ...base, CONFIG_FILE: file, WORKER_CONCURRENCY: '99' })).to.deep.equal([
      'log.level: "loud" is not one of error, warn, info, debug',
      'worker.batchSize: "0" must be a whole number from 1 to 10000',
      'WORKER_CONCURRENCY: "99" must be a whole number from 1 to 16',
      'worker.lease: "forever" is not a duration (e.g. 250ms, 30s, 5m, 1h, 1d)',
    ]);
  });

  it('reads the notification settings: link keys rotate (first signs), an empty list is none, short keys and bad URLs are refused', () => {
    const key = (c: string) => c.repeat(32);
    const notify = loadConfig({ ...base, PUBLIC_URL: 'https://klaxon.example/', NOTIFY_LINK_KEYS: `${key('a')}, ${key('b')}`, NOTIFY_LINK_TTL: '2h' }).notify;
    expect(notify).to.deep.include({ publicUrl: 'https://klaxon.example', linkKeys: [key('a'), key('b')], linkTtlMs: 7_200_000, throttleWindowMs: 60_000 });
    expect(loadConfig({ ...base, NOTIFY_LINK_KEYS: '' }).notify.linkKeys).to.deep.equal([]);
    expect(loadConfig(base).notifier).to.deep.equal({ batchSize: 100, concurrency: 16, leaseMs: 60_000, maxSleepMs: 5_000, metricsPort: 9474 });
    const problems = problemsOf({ ...base, NOTIFY_LINK_KEYS: 'short', PUBLIC_URL: 'ftp://x', TWILIO_BASE_URL: 'nope' });
    expect(problems).to.have.length(3);
    expect(problems.join('\n'))
      .to.match(/NOTIFY_LINK_KEYS: .*32 to 512/)
      .and.match(/PUBLIC_URL: /)
      .and.match(/TWILIO_BASE_URL: /);
  });

  it('hides passwords when a URL is logged', () => {
    expect(redactUrl(base.DATABASE_URL)).to.equal('postgres://app:***@127.0.0.1:5432/klaxon');
  });
});
