/**
 * scripts/node-process, the launcher npm start and the benchmark run the API, the
 * workers and the notifier with: node with tsx, and V8's background threads at
 * KLAXON_V8_POOL_SIZE (1 by default), a value it checks itself because node would take
 * any text silently.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const LAUNCHER = join(fileURLToPath(new URL('../..', import.meta.url)), 'scripts', 'node-process');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function launch(args: string[], poolSize?: string): Promise<Ran> {
  const env = { ...process.env };
  delete env.KLAXON_V8_POOL_SIZE;
  if (poolSize !== undefined) env.KLAXON_V8_POOL_SIZE = poolSize;
  return new Promise((resolve) => {
    execFile(LAUNCHER, args, { env, cwd: join(LAUNCHER, '..', '..') }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** What the launched process sees: its Node options, its threads, and a TypeScript module loaded (tsx). */
const PROBE = [
  '--eval',
  `const { readdirSync } = await import('node:fs');
   const { parseDuration } = await import('./src/domain/durations.ts');
   console.log(JSON.stringify({ execArgv: process.execArgv, threads: readdirSync('/proc/self/task').length, parsed: typeof parseDuration }));`,
  '--input-type=module',
];

describe('scripts/node-process', () => {
  it('runs node with tsx and one V8 background thread by default', async () => {
    const ran = await launch(PROBE);
    expect(ran.stderr).to.equal('');
    expect(ran.code).to.equal(0);
    const seen = JSON.parse(ran.stdout) as { execArgv: string[]; threads: number; parsed: string };
    expect(seen.execArgv.slice(0, 3)).to.deep.equal(['--v8-pool-size=1', '--import', 'tsx']);
    expect(seen.parsed).to.equal('function');
  });

  it('gives V8 the threads KLAXON_V8_POOL_SIZE asks for (three more threads for 4 than for 1)', async () => {
    const one = JSON.parse((await launch(PROBE, '1')).stdout) as { execArgv: string[]; threads: number };
    const four = JSON.parse((await launch(PROBE, '4')).stdout) as { execArgv: string[]; threads: number };
    expect(four.execArgv[0]).to.equal('--v8-pool-size=4');
    expect(four.threads - one.threads).to.equal(3);
  });

  for (const bad of ['0', '65', '007', '2.5', '-1', 'four', '4\u001b[31m']) {
    it(`refuses KLAXON_V8_POOL_SIZE=${JSON.stringify(bad)} before starting node, naming the variable and quoting the value`, async () => {
      const ran = await launch(['--eval', 'console.log("started")'], bad);
      expect(ran.code).to.equal(2);
      expect(ran.stdout).to.equal('');
      expect(ran.stderr).to.match(/^KLAXON_V8_POOL_SIZE must be a whole number from 1 to 64, not /);
      // A control character reaches the terminal escaped, never raw.
      expect(ran.stderr).to.not.include('\u001b');
    });
  }
});
