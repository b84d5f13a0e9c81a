/** Runs the real worker process, as an operator would, against a test file's database. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestContext } from './context.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Runs one of klaxon's entry points (src/...) on the test's database and Redis keys, with only `env` besides. */
export function spawnKlaxon(t: TestContext, entry: string, args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: t.databaseUrl,
      REDIS_URL: t.redisUrl,
      REDIS_KEY_PREFIX: t.keyPrefix,
      LOG_FORMAT: 'json',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function spawnWorker(t: TestContext, args: string[] = [], env: Record<string, string> = {}): ChildProcess {
  return spawnKlaxon(t, 'src/main/worker.ts', args, {
    ESCALATION_LEVELS: '5m,15m,60m',
    LOG_LEVEL: 'warn',
    WORKER_METRICS_PORT: '0', // several workers at once, next to a dev stack's
    ...env,
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

export interface Output {
  /** Every line the process printed on stdout so far. */
  lines: string[];
  /** Resolves with the first line (already printed or to come) matching `pattern`; fails naming it after `timeoutMs`. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** Follows a process's stdout line by line (its JSON logs, its fault hooks' lines). */
export function followOutput(child: ChildProcess): Output {
  const lines: string[] = [];
  const waiting = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const waiter of waiting) {
        if (waiter.pattern.test(line)) {
          waiting.delete(waiter);
          waiter.resolve(line);
        }
      }
    }
  });
  return {
    lines,
    line(pattern, timeoutMs = 20_000) {
      const found = lines.find((line) => pattern.test(line));
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = {
          pattern,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        const timer = setTimeout(() => {
          waiting.delete(waiter);
          reject(new Error(`waited ${timeoutMs} ms for a line matching ${String(pattern)}; printed:\n${lines.slice(-20).join('\n')}`));
        }, timeoutMs);
        waiting.add(waiter);
      });
    },
  };
}
