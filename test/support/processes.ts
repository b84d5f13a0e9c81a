/** Runs the real worker process, as an operator would, against a test file's database. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestContext } from './context.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function spawnWorker(t: TestContext, args: string[] = [], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/main/worker.ts', ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: t.databaseUrl,
      REDIS_URL: t.redisUrl,
      REDIS_KEY_PREFIX: t.keyPrefix,
      ESCALATION_LEVELS: '5m,15m,60m',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'warn',
      WORKER_METRICS_PORT: '0', // several workers at once, next to a dev stack's
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves with the exit code or signal and everything the process printed. */
export function finished(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
