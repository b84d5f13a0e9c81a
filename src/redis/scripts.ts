/**
 * Lua scripts, one atomic operation per file in ./scripts, named with their key
 * count. Run with EVALSHA; on NOSCRIPT (Redis forgets scripts when it restarts) the
 * script is sent whole with EVAL, which also caches it again.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type RedisClient, redisCall } from './client.ts';

export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

function load(name: string): LuaScript {
  const source = readFileSync(new URL(`./scripts/${name}.lua`, import.meta.url), 'utf8');
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

export const scripts = {
  claimDue: load('claimDue-3'),
  settle: load('settle-2'),
  indexPending: load('indexPending-2'),
  releaseLock: load('releaseLock-1'),
  rateLimit: load('rateLimit-1'),
};

/** Runs a script under the client's deadline (both round trips, when NOSCRIPT makes it two). */
export function runScript(redis: RedisClient, script: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> {
  const options = { keys, arguments: args.map(String) };
  return redisCall(redis, async (client) => {
    try {
      return await client.evalSha(script.sha, options);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(script.source, options);
    }
  });
}
