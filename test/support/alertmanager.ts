/**
 * A real Prometheus Alertmanager for the alert-intake end-to-end test (issue 12): Debian's
 * `prometheus-alertmanager` run as a child process on loopback, its one receiver a
 * webhook_config pointing at a URL the test gives, alerts fired and resolved with the
 * real `amtool`. `bash scripts/stack.sh test-tools` installs both (`npm test` runs it).
 *
 * The timers are cut from minutes to about a second so a test sees a group's first
 * notification, a change and a repeat within seconds. Clustering is off
 * (--cluster.listen-address=), else it binds 9094 and waits for peers to settle.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { track } from './leaks.ts';
import { freePort } from './redis-server.ts';

const run = promisify(execFile);

export const ALERTMANAGER_BIN = 'prometheus-alertmanager';
export const AMTOOL_BIN = 'amtool';

export interface AlertmanagerOptions {
  /** Where the webhook receiver posts each group's notification. */
  webhookUrl: string;
  /** The route's group_by (default: alertname, so alerts of one name share a group and its notifications). */
  groupBy?: string[];
  /** Before a new group's first notification (Alertmanager's default 30s). */
  groupWait?: string;
  /** Between notifications of a group that changed (default 5m). Flushes happen on this tick. */
  groupInterval?: string;
  /** Before an unchanged group is sent again (default 4h); checked on each group_interval tick. */
  repeatInterval?: string;
  /**
   * When an alert sent without an end is taken as resolved (default 5m). Kept long here:
   * the test resolves alerts itself, as Prometheus does by sending an end.
   */
  resolveTimeout?: string;
  /** The webhook's max_alerts: more alerts in a group are cut and counted in truncatedAlerts (default 0: all). */
  maxAlerts?: number;
}

/** A config made of these options, or a whole alertmanager.yml used as is (the README's, say). */
export type AlertmanagerSetup = AlertmanagerOptions | { config: string };

export interface AlertOptions {
  annotations?: Record<string, string>;
  /** RFC 3339; default: Alertmanager sets the time it receives the alert. */
  start?: string;
  /** RFC 3339; a time already past resolves the alert. */
  end?: string;
  generatorUrl?: string;
}

export interface RealAlertmanager {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The alertmanager.yml it runs with. */
  readonly config: string;
  /** Every amtool command run, as a shell line (the test's transcript). */
  readonly commands: string[];
  /** `amtool alert add` with these labels (alertname among them). */
  fire(labels: Record<string, string>, options?: AlertOptions): Promise<void>;
  /** The same alert again with an end of now: Alertmanager takes it as resolved and notifies on the next group_interval tick. */
  resolve(labels: Record<string, string>, options?: Omit<AlertOptions, 'end'>): Promise<void>;
  /** The alerts it holds (GET /api/v2/alerts), to diagnose a failing wait. */
  alerts(): Promise<unknown[]>;
  /** The fingerprint Alertmanager gave the alert with exactly these labels (undefined: it holds none). */
  fingerprint(labels: Record<string, string>): Promise<string | undefined>;
  /** Its webhook notifications so far (from /metrics): attempted, and failed (a non-2xx answer or no answer). */
  notifications(): Promise<{ total: number; failed: number }>;
  /** What it printed (logfmt), to diagnose a failing start. */
  output(): string;
  /** Kills it and removes its storage. */
  stop(): Promise<void>;
}

/** The config file: one route, one webhook receiver that is also sent resolved alerts. */
export function alertmanagerConfig(options: AlertmanagerOptions): string {
  const groupBy = options.groupBy ?? ['alertname'];
  return [
    'global:',
    `  resolve_timeout: ${options.resolveTimeout ?? '5m'}`,
    'route:',
    '  receiver: klaxon',
    `  group_by: [${groupBy.map((label) => JSON.stringify(label)).join(', ')}]`,
    `  group_wait: ${options.groupWait ?? '100ms'}`,
    `  group_interval: ${options.groupInterval ?? '1s'}`,
    `  repeat_interval: ${options.repeatInterval ?? '2s'}`,
    'receivers:',
    '  - name: klaxon',
    '    webhook_configs:',
    `      - url: ${JSON.stringify(options.webhookUrl)}`,
    '        send_resolved: true',
    ...(options.maxAlerts ? [`        max_alerts: ${options.maxAlerts}`] : []),
    '',
  ].join('\n');
}

/** `amtool check-config` on this alertmanager.yml text: resolves when Alertmanager would load it, fails with amtool's words. */
export async function checkAlertmanagerConfig(text: string): Promise<void> {
  await requireBinaries();
  const dir = await mkdtemp(join(tmpdir(), 'klaxon-alertmanager-check-'));
  try {
    await writeFile(join(dir, 'alertmanager.yml'), text);
    await run(AMTOOL_BIN, ['check-config', join(dir, 'alertmanager.yml')], { timeout: 10_000 });
  } catch (error) {
    const { stderr = '', stdout = '' } = error as { stderr?: string; stdout?: string };
    throw new Error(`amtool check-config refused it: ${stdout}${stderr}`, { cause: error });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Fails with what to run when the binaries are missing, instead of a bare ENOENT. */
async function requireBinaries(): Promise<void> {
  for (const bin of [ALERTMANAGER_BIN, AMTOOL_BIN]) {
    try {
      await run(bin, ['--version']);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found on PATH' : String(error);
      throw new Error(`${bin}: ${reason}. Install it with \`bash scripts/stack.sh test-tools\` (Debian's prometheus-alertmanager; npm test does it).`, {
        cause: error,
      });
    }
  }
}

export async function startAlertmanager(setup: AlertmanagerSetup): Promise<RealAlertmanager> {
  await requireBinaries();
  const dir = await mkdtemp(join(tmpdir(), 'klaxon-alertmanager-'));
  const config = 'config' in setup ? setup.config : alertmanagerConfig(setup);
  const configFile = join(dir, 'alertmanager.yml');
  await writeFile(configFile, config);

  let child: ChildProcess | undefined;
  let printed = '';
  let url = '';
  // A free port can be taken between our probe and Alertmanager's bind: try again then.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    printed = '';
    child = spawn(
      ALERTMANAGER_BIN,
      [
        `--config.file=${configFile}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--web.external-url=${url}`,
        '--cluster.listen-address=',
        '--log.level=debug',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const outcome = await waitUntilReady(url, child);
    if (outcome === 'ready') break;
    if (outcome === 'late') {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    if (outcome === 'late' || attempt >= 3 || !/address already in use/.test(printed)) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`prometheus-alertmanager ${outcome === 'late' ? 'was not ready within 15 s' : 'exited before it was ready'}:\n${printed.slice(-2000)}`);
    }
  }
  if (!child) throw new Error('unreachable: no prometheus-alertmanager process');
  const process_ = child;
  const untrack = track(`prometheus-alertmanager ${url}`);
  const commands: string[] = [];

  const amtool = async (args: string[]) => {
    const full = [`--alertmanager.url=${url}`, '--no-version-check', ...args];
    commands.push([AMTOOL_BIN, ...full.map(shellQuote)].join(' '));
    try {
      await run(AMTOOL_BIN, full, { timeout: 10_000 });
    } catch (error) {
      const { stderr = '', stdout = '' } = error as { stderr?: string; stdout?: string };
      throw new Error(`amtool ${args.join(' ')} failed: ${String(error)}\n${stdout}${stderr}`, { cause: error });
    }
  };
  const alertArgs = (labels: Record<string, string>, alert: AlertOptions) => [
    'alert',
    'add',
    ...Object.entries(labels).map(([name, value]) => `${name}=${value}`),
    ...Object.entries(alert.annotations ?? {}).map(([name, value]) => `--annotation=${name}=${value}`),
    ...(alert.start ? [`--start=${alert.start}`] : []),
    ...(alert.end ? [`--end=${alert.end}`] : []),
    ...(alert.generatorUrl ? [`--generator-url=${alert.generatorUrl}`] : []),
  ];

  return {
    url,
    config,
    commands,
    fire: (labels, alert = {}) => amtool(alertArgs(labels, alert)),
    // An end that is already past, and after the alert's start: Alertmanager merges it
    // into the firing alert (keeping its startsAt) and the next flush sends it resolved.
    resolve: (labels, alert = {}) => amtool(alertArgs(labels, { ...alert, end: new Date().toISOString() })),
    async alerts() {
      const response = await fetch(`${url}/api/v2/alerts`);
      return (await response.json()) as unknown[];
    },
    async fingerprint(labels) {
      const held = (await (await fetch(`${url}/api/v2/alerts`)).json()) as { fingerprint: string; labels: Record<string, string> }[];
      const same = (other: Record<string, string>) =>
        Object.keys(other).length === Object.keys(labels).length && Object.entries(labels).every(([name, value]) => other[name] === value);
      return held.find((alert) => same(alert.labels))?.fingerprint;
    },
    async notifications() {
      const text = await (await fetch(`${url}/metrics`)).text();
      // Summed over the failure reasons some versions label failures with.
      const sum = (name: string) =>
        text
          .split('\n')
          .filter((line) => line.startsWith(`${name}{`) && line.includes('integration="webhook"'))
          .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
      return { total: sum('alertmanager_notifications_total'), failed: sum('alertmanager_notifications_failed_total') };
    },
    output: () => printed,
    async stop() {
      if (process_.exitCode === null && process_.signalCode === null) {
        const exited = once(process_, 'exit');
        process_.kill('SIGKILL'); // nothing of its state is kept: no need for a clean shutdown
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
      untrack();
    },
  };
}

/** Polls /-/ready until it answers 200, the process exits, or 15 s pass. */
async function waitUntilReady(url: string, child: ChildProcess): Promise<'ready' | 'exited' | 'late'> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) return 'exited';
    try {
      const response = await fetch(`${url}/-/ready`);
      if (response.ok) return 'ready';
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) return 'late';
    await sleep(50);
  }
}

/** As a shell would need it, quoting only the value of a --flag=value (easier to read in the transcript). */
function shellQuote(arg: string): string {
  const quote = (text: string) => (/^[\w@%+=:,./-]*$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);
  const flag = /^(--[\w.-]+=(?:[\w.-]+=)?)(.*)$/s.exec(arg);
  return flag ? `${flag[1]}${quote(flag[2] ?? '')}` : quote(arg);
}
