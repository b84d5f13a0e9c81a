/**
 * A private redis-server for tests that stop, restart, hang or lose Redis: the shared
 * test Redis must keep serving the other test files.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';

export interface PrivateRedis {
  url: string;
  port: number;
  /** Kills it (SIGKILL): connections drop, the data is gone. */
  stop(): Promise<void>;
  /** Starts it again (with `args` besides the usual ones), waiting until it answers PING unless only until it listens. */
  start(options?: StartOptions): Promise<void>;
  /**
   * Hangs it (SIGSTOP): connections stay open and commands are accepted by the kernel,
   * but nothing is answered, as with a stuck fork or a saturated host, until resume().
   */
  pause(): void;
  /** SIGCONT: it answers everything it was sent meanwhile, in order. */
  resume(): void;
}

export interface StartOptions {
  /** More redis-server options, for this start only (e.g. to make loading slow). */
  args?: string[];
  /** 'listening': do not wait for PING (a Redis loading its data refuses it with LOADING). */
  waitUntil?: 'answering' | 'listening';
}

export interface PrivateRedisOptions {
  /** Where it keeps dump.rdb: SAVE writes it, the next start loads it. Default: its working directory, never saved. */
  dir?: string;
}

/** A port free on loopback now (the test servers' and processes' own). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export async function startPrivateRedis({ dir }: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const base = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(dir ? ['--dir', dir] : [])];

  const start = async ({ args = [], waitUntil = 'answering' }: StartOptions = {}) => {
    child = spawn('redis-server', [...base, ...args], { stdio: 'ignore' });
    await (waitUntil === 'answering' ? waitForPing(port) : waitForListening(port));
  };
  const stop = async () => {
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL'); // a paused one too
    await exited;
    child = undefined;
  };
  const signal = (name: NodeJS.Signals) => {
    if (!child || child.exitCode !== null) throw new Error(`redis-server is not running: cannot send ${name}`);
    child.kill(name);
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, start, stop, pause: () => signal('SIGSTOP'), resume: () => signal('SIGCONT') };
}

async function waitForListening(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const socket = connect(port, '127.0.0.1');
    try {
      await once(socket, 'connect');
      socket.destroy();
      return;
    } catch (error) {
      socket.destroy();
      if (Date.now() > deadline) throw error;
      await sleep(20);
    }
  }
}

async function waitForPing(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false } });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      await client.close();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(20);
    }
  }
}
