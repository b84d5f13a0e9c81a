/**
 * Issue 12 end to end with a real Prometheus Alertmanager (Debian's
 * prometheus-alertmanager, run by test/support/alertmanager.ts): its webhook receiver
 * points at POST /integrations/alertmanager/:key on the app listening on loopback, and
 * alerts are fired and resolved with the real amtool, as an operator would. Each alert
 * opens one incident; the repeats Alertmanager sends every repeat_interval, and the
 * group's notification when another alert joins it, open nothing more; an alert that
 * ends resolves its incident, and the same alert firing again later is a new incident.
 *
 * Alertmanager runs with the README's alertmanager.yml, only its URL and timers changed.
 *
 * A one-line summary is always printed; KLAXON_E2E_TRANSCRIPT=1 prints the transcript
 * (the amtool commands, each incident seen with its state), which issue 12's closing
 * note quotes.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { integrationKeyHint } from '../../src/domain/integration-keys.ts';
import { type RealAlertmanager, checkAlertmanagerConfig, startAlertmanager } from '../support/alertmanager.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createPolicyVia, createServiceRow, createUser } from '../support/factories.ts';
import { waitFor } from '../support/waiting.ts';

const VERBOSE = process.env.KLAXON_E2E_TRANSCRIPT === '1';
/** Alertmanager notifies about a second after each change here (group_interval 1s): generous bounds for a loaded machine. */
const WAIT = { timeoutMs: 15_000, everyMs: 50 };

/** The README's alertmanager.yml, as printed (the yaml block after its `<!-- alertmanager.yml: ... -->` marker). */
function readmeConfig(): string {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const block = /<!-- alertmanager\.yml:[^\n]*-->\n```yaml\n([\s\S]*?)\n```/.exec(readme)?.[1];
  if (block === undefined) throw new Error('README.md has no yaml block marked <!-- alertmanager.yml: ... --> under "Prometheus Alertmanager"');
  return `${block}\n`;
}

/** The README's config with its URL pointed at `webhookUrl` and its timers cut to a second or two (each must be there, once). */
function readmeConfigFor(webhookUrl: string): string {
  let config = readmeConfig();
  const replace = (pattern: RegExp, value: string) => {
    expect(config.match(new RegExp(pattern, 'gm')), `the README's alertmanager.yml has one ${String(pattern)}`).to.have.length(1);
    config = config.replace(new RegExp(pattern, 'm'), (_line, head: string) => `${head}${value}`);
  };
  replace(/^(\s*- url: ).*$/, `'${webhookUrl}'`);
  replace(/^(\s*group_wait: ).*$/, '100ms');
  replace(/^(\s*group_interval: ).*$/, '1s');
  replace(/^(\s*repeat_interval: ).*$/, '2s');
  return config;
}

interface IncidentSeen {
  id: string;
  title: string;
  state: string;
  dedup_key: string;
  alert_count: number;
  outcomes: string[];
}

describe("the README's alertmanager.yml", () => {
  it('is one Alertmanager loads, as printed (amtool check-config)', async () => {
    await checkAlertmanagerConfig(readmeConfig());
  });
});

describe('alert intake end to end: a real Prometheus Alertmanager and amtool', function () {
  this.timeout(90_000);
  let t: TestContext;
  let am: RealAlertmanager;
  /** Set once Alertmanager started (a failed start leaves nothing to stop). */
  let stopped: (() => Promise<void>) | undefined;
  let serviceId: string;
  const transcript: string[] = [];
  let commandsNoted = 0;

  beforeEach(async () => {
    t = await createTestContext();
    const alice = await createUser(t.pool, 'Alice');
    const policyId = await createPolicyVia(t.api, { name: 'on call', levels: [{ delay: '5m', targets: [{ type: 'user', id: alice }] }] });
    serviceId = await createServiceRow(t.pool, 'checkout', policyId);
    const key = await integrationKey(t, serviceId);
    stopped = undefined;
    am = await startAlertmanager({ config: readmeConfigFor(`${t.api.baseUrl}/integrations/alertmanager/${key}`) });
    stopped = () => am.stop();
    transcript.length = 0;
    commandsNoted = 0;
    note(`alertmanager ${am.url}, webhook receiver -> ${t.api.baseUrl}/integrations/alertmanager/${integrationKeyHint(key)}…`);
  });
  afterEach(async function () {
    // Quiet runs print what happened when it went wrong.
    if (this.currentTest?.state === 'failed' && !VERBOSE) console.log(transcript.map((line) => `  e2e ${line}`).join('\n'));
    await stopped?.();
    await t.close();
  });

  function note(line: string): void {
    transcript.push(line);
    if (VERBOSE) console.log(`  e2e ${line}`);
  }

  /** The amtool commands run since the last call, into the transcript. */
  function noteCommands(): void {
    for (const command of am.commands.slice(commandsNoted)) note(`$ ${command.replace(am.url, 'AM')}`);
    commandsNoted = am.commands.length;
  }

  async function incidents(): Promise<IncidentSeen[]> {
    const { rows } = await t.pool.query<IncidentSeen>(
      `SELECT i.id, i.title, i.state, i.dedup_key, i.alert_count,
              ARRAY(SELECT l.outcome FROM alert_log l WHERE l.incident_id = i.id ORDER BY l.id) AS outcomes
         FROM incidents i WHERE i.service_id = $1
        -- In the order they were opened: created_at is the test's clock, the same for all.
        ORDER BY (SELECT min(l.id) FROM alert_log l WHERE l.incident_id = i.id)`,
      [serviceId],
    );
    return rows;
  }

  /** Waits until `check` holds of the service's incidents, then notes them. */
  async function seen(what: string, check: (all: IncidentSeen[]) => boolean): Promise<IncidentSeen[]> {
    let last: IncidentSeen[] = [];
    try {
      await waitFor(what, async () => check((last = await incidents())), WAIT);
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\nincidents: ${JSON.stringify(last)}\nalertmanager holds: ${JSON.stringify(await am.alerts())}\n` +
          `alert_log: ${JSON.stringify((await t.pool.query('SELECT outcome, reason, dedup_key FROM alert_log ORDER BY id')).rows)}\n` +
          `alertmanager said: ${am
            .output()
            .split('\n')
            .filter((line) => /level=(warn|error)|Notify/.test(line))
            .slice(-5)
            .join('\n')}`,
        { cause: error },
      );
    }
    note(`seen: ${what}`);
    for (const incident of last) {
      note(`  incident "${incident.title}" ${incident.state}, alert_count ${incident.alert_count}, alert_log ${incident.outcomes.join(',')}`);
    }
    return last;
  }

  const byKey = (all: IncidentSeen[], fingerprint: string) => all.filter((incident) => incident.dedup_key.includes(fingerprint));

  it('opens an incident per alert, dedupes re-sends and group changes, resolves when the alert ends, and opens a new one when it fires again', async () => {
    const api1 = { alertname: 'HighLatency', instance: 'api-1:9100', job: 'api', severity: 'critical' };
    const api2 = { alertname: 'HighLatency', instance: 'api-2:9100', job: 'api', severity: 'warning' };

    // One alert: one incident, escalating at once on the service's policy.
    await am.fire(api1, { annotations: { summary: 'p99 latency above 2s on api-1', description: 'p99 above 2 seconds for 5 minutes' } });
    noteCommands();
    const fp1 = await am.fingerprint(api1);
    expect(fp1, 'Alertmanager holds the fired alert').to.be.a('string');
    let all = await seen('the first alert opened an incident', (rows) => rows.length === 1);
    expect(byKey(all, String(fp1)), 'the incident is keyed by the alert fingerprint').to.have.length(1);
    expect(all[0]).to.include({ title: 'p99 latency above 2s on api-1', state: 'ESCALATING' });

    // Alertmanager sends the unchanged group again after repeat_interval: same incident.
    all = await seen('a repeat of the unchanged group deduplicated', (rows) => rows[0]?.outcomes.includes('deduplicated') === true);
    expect(all).to.have.length(1);
    expect(all[0]?.alert_count).to.be.at.least(2);

    // Another alert joins the group: its notification carries both; only the new one opens.
    await am.fire(api2, { annotations: { summary: 'p99 latency above 2s on api-2' } });
    noteCommands();
    const fp2 = String(await am.fingerprint(api2));
    all = await seen('the group change opened only the new alert', (rows) => rows.length === 2);
    const [first] = byKey(all, String(fp1));
    const [second] = byKey(all, fp2);
    expect(second).to.include({ title: 'p99 latency above 2s on api-2', state: 'ESCALATING' });
    expect(second?.outcomes[0]).to.equal('opened');
    expect(first?.outcomes.filter((outcome) => outcome === 'opened')).to.have.length(1);

    // The first alert ends: the group (still firing) carries it as resolved.
    await am.resolve(api1);
    noteCommands();
    all = await seen('the ended alert resolved its incident', (rows) => byKey(rows, String(fp1))[0]?.state === 'RESOLVED');
    expect(byKey(all, fp2)[0]?.state, 'the other alert of the group is still open').to.equal('ESCALATING');

    await am.resolve(api2);
    noteCommands();
    all = await seen('the last alert resolved too', (rows) => rows.every((row) => row.state === 'RESOLVED'));
    expect(all).to.have.length(2);

    // The same alert firing again is a new occurrence (a new startsAt): a new incident.
    await am.fire(api1, { annotations: { summary: 'p99 latency above 2s on api-1' } });
    noteCommands();
    all = await seen('the alert firing again opened a new incident', (rows) => rows.length === 3);
    const again = byKey(all, String(fp1));
    expect(again.map((incident) => incident.state)).to.deep.equal(['RESOLVED', 'ESCALATING']);
    expect(again[0]?.dedup_key).to.not.equal(again[1]?.dedup_key);

    // Every notification was answered 2xx (Alertmanager counts the others as failed).
    const sent = await am.notifications();
    note(`alertmanager: ${sent.total} webhook notifications, ${sent.failed} failed`);
    expect(sent.failed, am.output().slice(-3000)).to.equal(0);
    expect(sent.total).to.be.at.least(6);

    const { rows } = await t.pool.query<{ outcome: string; n: number }>(
      `SELECT outcome, count(*)::int AS n FROM alert_log WHERE source = 'alertmanager' GROUP BY outcome ORDER BY outcome`,
    );
    const outcomes = rows.map((row) => `${row.outcome} ${row.n}`).join(', ');
    note(`alert_log: ${outcomes}`);
    console.log(
      `  e2e alertmanager: ${am.commands.length} amtool commands, ${sent.total} webhook posts (${sent.failed} failed), ` +
        `${all.length} incidents (${all.map((incident) => incident.state).join(', ')}), alert_log ${outcomes}` +
        (VERBOSE ? '' : ' (KLAXON_E2E_TRANSCRIPT=1 for the transcript)'),
    );
  });
});

/** A new integration key of the service, made as an operator would (the key itself is in this answer only). */
async function integrationKey(t: TestContext, serviceId: string): Promise<string> {
  const res = await t.api.post<{ key: string }>(`/services/${serviceId}/integration-keys`, { name: 'alertmanager' });
  expect(res.status, res.text).to.equal(201);
  return res.body.key;
}
