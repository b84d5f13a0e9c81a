/**
 * Mocha root hooks: build the template database once before any test file runs,
 * and fail the run if a test file left a context (database pool, Redis client,
 * HTTP server) open.
 */
import { dropTemplate, prepareTemplate } from './databases.ts';
import { openResources } from './leaks.ts';

export async function mochaGlobalSetup(): Promise<void> {
  await prepareTemplate();
}

export async function mochaGlobalTeardown(): Promise<void> {
  await dropTemplate();
}

export const mochaHooks = {
  afterAll(): void {
    const leaked = openResources();
    if (leaked.length > 0) throw new Error(`test files left resources open: ${leaked.join(', ')}`);
  },
};
