/**
 * What the benchmarks share: their private Postgres and Redis (scripts/stack.sh under
 * .data/bench, or DATABASE_URL / REDIS_URL), a fresh migrated database, the cleanup that
 * undoes it all, progress on stderr (stdout is for the one result line), and argument
 * checks. Used by scripts/bench.ts (the worker) and scripts/bench-api.ts (the API).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import winston from 'winston';
import { migrate } from '../../src/db/migrate.ts';
import { type Logger, createLogger } from '../../src/log/logger.ts';
import { type RedisClient, closeRedis, createRedis } from '../../src/redis/client.ts';
import type { RedisKeys } from '../../src/redis/keys.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DATA_DIR = '.data/bench';

export class UsageError extends Error {}

export function positive(flag: string, text: string | undefined, { integer = false } = {}): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new UsageError(`${flag}: "${String(text)}" must be a positive ${integer ? 'whole ' : ''}number`);
  }
  return value;
}

// --- output and cleanup ---------------------------------------------------------------

export function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** Everything the bench set up, undone in reverse order, once, whatever happened. */
export class Cleanup {
  private readonly steps: { name: string; undo: () => Promise<void> }[] = [];
  private running: Promise<void> | undefined;

  add(name: string, undo: () => Promise<void>): void {
    this.steps.push({ name, undo });
  }

  run(): Promise<void> {
    this.running ??= this.runSteps();
    return this.running;
  }

  private async runSteps(): Promise<void> {
    for (const step of this.steps.reverse()) {
      try {
        await step.undo();
      } catch (error) {
        // Keep going: a failed DROP DATABASE must not leave the stack running.
        progress(`cleanup: ${step.name} failed: ${(error as Error).message}`);
      }
    }
  }
}

export function makeLogger(): Logger {
  // stdout is reserved for the result line: every level of the bench's own logger goes to stderr.
  const levels = ['error', 'warn', 'info', 'debug'];
  return createLogger({
    level: 'warn',
    format: 'pretty',
    service: 'bench',
    transports: [new winston.transports.Console({ stderrLevels: levels })],
  });
}

// --- the stack, the database, Redis ---------------------------------------------------

export interface Stack {
  databaseUrl: string;
  redisUrl: string;
}

/** Runs a command from the repository root; resolves with its stdout, its stderr goes to ours. */
export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (stdout += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit code ${String(code)}`})`));
    });
  });
}

/** Given URLs are used as they are; otherwise stack.sh starts (or reuses) the private servers. */
export async function startStack(cleanup: Cleanup): Promise<Stack> {
  const { DATABASE_URL, REDIS_URL } = process.env;
  if (DATABASE_URL && REDIS_URL) {
    mkdirSync(join(REPO_ROOT, DATA_DIR), { recursive: true });
    return { databaseUrl: DATABASE_URL, redisUrl: REDIS_URL };
  }
  // Registered before starting: a start that fails half-way (Postgres up, Redis not) is undone too.
  cleanup.add('stop the stack', async () => {
    progress('stopping the stack');
    await runCommand('bash', ['scripts/stack.sh', 'stop', DATA_DIR]);
  });
  progress(`starting Postgres and Redis under ${DATA_DIR}`);
  const stdout = await runCommand('bash', ['scripts/stack.sh', 'start', DATA_DIR], {
    ...process.env,
    KLAXON_PG_PORT: process.env.KLAXON_BENCH_PG_PORT ?? '54359',
    KLAXON_REDIS_PORT: process.env.KLAXON_BENCH_REDIS_PORT ?? '63829',
  });
  const urls = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^(DATABASE_URL|REDIS_URL)=(.+)$/.exec(line);
    if (match?.[1] && match[2]) urls.set(match[1], match[2]);
  }
  const databaseUrl = urls.get('DATABASE_URL');
  const redisUrl = urls.get('REDIS_URL');
  if (!databaseUrl || !redisUrl) throw new Error('scripts/stack.sh start did not print DATABASE_URL and REDIS_URL');
  return { databaseUrl, redisUrl };
}

export async function withClient<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'klaxon-bench-admin' });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh, migrated database, dropped by the cleanup; returns its URL. */
export async function createBenchDatabase(adminUrl: string, logger: Logger, cleanup: Cleanup): Promise<string> {
  const name = `klaxon_bench_${randomBytes(4).toString('hex')}`;
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  cleanup.add(`drop database ${name}`, async () => {
    // FORCE: a worker killed on an error may still hold a connection for a moment.
    await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await migrate(url.toString(), logger);
  progress(`database ${name} created and migrated`);
  return url.toString();
}

export async function connectRedis(redisUrl: string, keys: RedisKeys, logger: Logger, cleanup: Cleanup): Promise<RedisClient> {
  const redis = createRedis({ url: redisUrl, commandTimeoutMs: 10_000, logger, name: 'klaxon-bench' });
  await redis.connect();
  cleanup.add('delete the Redis keys and disconnect', async () => {
    // The private Redis keeps its AOF between runs, and a shared one must stay tidy.
    await redis.del(Object.values(keys));
    await closeRedis(redis);
  });
  return redis;
}


/**
 * Runs a benchmark: its arguments parsed (exit 2 with the usage when they are wrong),
 * everything it set up undone whatever happens (a first Ctrl-C cleans up, a second
 * leaves at once), exit code 1 when it could not run.
 */
export async function runBenchmark<A>(parse: (argv: string[]) => A, usage: string, run: (args: A, cleanup: Cleanup) => Promise<void>): Promise<void> {
  let args: A;
  try {
    args = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n${usage}\n`);
    process.exit(2);
  }
  const cleanup = new Cleanup();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130); // a second Ctrl-C: leave at once
    interrupted = true;
    progress(`${signal}: cleaning up (again to exit at once)`);
    void cleanup.run().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await run(args, cleanup);
  } catch (error) {
    progress(`error: ${(error as Error).message}`);
    process.exitCode = 1;
  } finally {
    await cleanup.run();
  }
}
