/**
 * scripts/start.sh (npm start) stops the private servers it started when it exits before
 * its processes run: a migration refusing a setting, a Ctrl-C while the stack starts.
 * Only what a failed start leaves behind is checked here; the rest of start.sh is run by
 * hand (README) and its pieces by their own tests.
 *
 * The servers' script is a stand-in that records how start.sh calls it (the calls are
 * what is under test, and real servers would take seconds to start); everything else is
 * the project's own: start.sh, scripts/lib.sh, the migration's configuration check.
 */
import { spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { waitFor } from '../support/waiting.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Records each call; `start` prints URLs as the real one does, then (STACK_START_HOLD=1) waits to be interrupted. */
const STACK_STAND_IN = `#!/usr/bin/env bash
echo "$*" >> "$(dirname "$0")/../stack-calls"
if [[ "$1" == start ]]; then
  echo "DATABASE_URL=postgres://klaxon@127.0.0.1:1/klaxon"
  echo "REDIS_URL=redis://127.0.0.1:1"
  if [[ "\${STACK_START_HOLD:-0}" == 1 ]]; then touch "$(dirname "$0")/../stack-holding"; sleep 30; fi
fi
`;

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  calls: string[];
}

describe('npm start when it fails before its processes run', () => {
  let root: string;
  beforeEach(async () => {
    // A copy of the project's layout: start.sh and lib.sh copied (start.sh runs from its own folder's parent), the rest linked.
    root = await mkdtemp(join(tmpdir(), 'klaxon-start-'));
    await mkdir(join(root, 'scripts'));
    for (const file of ['start.sh', 'lib.sh']) await copyFile(join(ROOT, 'scripts', file), join(root, 'scripts', file));
    await writeFile(join(root, 'scripts', 'stack.sh'), STACK_STAND_IN);
    await chmod(join(root, 'scripts', 'stack.sh'), 0o755);
    for (const entry of ['node_modules', 'src', 'config', 'migrations', 'package.json', 'tsconfig.json']) await symlink(join(ROOT, entry), join(root, entry));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** Runs start.sh in a process group of its own (as a terminal runs it); `whileRunning` may signal the group. */
  function start(env: Record<string, string>, whileRunning?: (pid: number) => Promise<void>): Promise<Ran> {
    const child = spawn('bash', [join(root, 'scripts', 'start.sh')], {
      env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', KEEP_STACK: '', ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
    return (async () => {
      if (whileRunning && child.pid !== undefined) await whileRunning(child.pid);
      const [code, signal] = await exited;
      const calls = (await readFile(join(root, 'stack-calls'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
      return { code, signal, output, calls };
    })();
  }

  it('stops the servers when the migration refuses a setting (exit 78)', async () => {
    const ran = await start({ WORKER_OVERLAP_AFTER: '30d' });
    expect(ran.code, ran.output).to.equal(78);
    expect(ran.output).to.include('WORKER_OVERLAP_AFTER: "30d" must be 0ms (at once) or between 1ms and 1m');
    expect(ran.calls).to.deep.equal(['start .data/dev', 'stop .data/dev']);
  });

  it('keeps them with KEEP_STACK=1', async () => {
    const ran = await start({ WORKER_OVERLAP_AFTER: '30d', KEEP_STACK: '1' });
    expect(ran.code, ran.output).to.equal(78);
    expect(ran.calls).to.deep.equal(['start .data/dev']);
  });

  it('stops them on a Ctrl-C while they start', async () => {
    const ran = await start({ STACK_START_HOLD: '1' }, async (pid) => {
      await waitFor('the stack starting', async () => (await readFile(join(root, 'stack-holding')).catch(() => null)) !== null);
      // A Ctrl-C in a terminal: SIGINT to the whole foreground process group.
      process.kill(-pid, 'SIGINT');
    });
    expect(ran.code === 0, `exit ${String(ran.code)} ${String(ran.signal)}: ${ran.output}`).to.equal(false);
    expect(ran.calls).to.deep.equal(['start .data/dev', 'stop .data/dev']);
  });
});
