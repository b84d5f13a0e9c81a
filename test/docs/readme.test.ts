/**
 * The README works as written. Its shell examples (the ```sh blocks, and the `$ `
 * lines of its transcripts) are replayed in order, literally, by bash against a
 * started stack (the real API and worker processes on this file's database): every
 * command must succeed and every curl must get a 2xx or 3xx, so an example that no
 * longer runs, or that names a variable nothing set, fails CI. Its example answers
 * (```json blocks marked `<!-- answer: Schema -->`) must match the OpenAPI document's
 * schemas exactly (no missing and no unknown member); its SQL is the SQL of
 * docs/audit-queries.sql; its Configuration table names every setting the code reads.
 *
 * Only `.data/dev/` (where `npm start` keeps the admin token and the stack's URLs) and
 * the API's address are swapped for this test's own.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { expect } from 'chai';
import { ENDPOINTS } from '../../src/api/endpoints/index.ts';
import { SETTING_VARIABLES } from '../../src/config/config.ts';
import { buildOpenApiDocument } from '../../src/api/openapi.ts';
import { loadAuditQueries } from '../support/audit-queries.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { finished, spawnKlaxon, spawnWorker } from '../support/processes.ts';
import { freePort } from '../support/redis-server.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

interface Block {
  language: string;
  text: string;
  /** The HTML comment on the line before the fence, if any (`readme replay: skip ...`, `answer: Incident`). */
  marker: string | undefined;
  line: number;
}

function blocksOf(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const fence = /^```(\w+)\s*$/.exec(lines[i] ?? '');
    if (!fence) continue;
    const start = i;
    const body: string[] = [];
    for (i += 1; i < lines.length && lines[i] !== '```'; i += 1) body.push(lines[i] ?? '');
    const before = /^<!--\s*(.*?)\s*-->$/.exec(lines[start - 1] ?? '')?.[1];
    blocks.push({ language: fence[1] ?? '', text: body.join('\n'), marker: before, line: start + 1 });
  }
  return blocks;
}

/** A block's commands: a transcript's `$ ` lines, or the whole block. */
function commandsOf(block: Block): string {
  const prompted = block.text.split('\n').filter((line) => line.startsWith('$ '));
  return prompted.length > 0 ? prompted.map((line) => line.slice(2)).join('\n') : block.text;
}

/**
 * The preamble of the replay: stop at the first failure, and a curl that records the
 * status of every call (and still prints the body, so `$(curl ... | json id)` works).
 */
const PREAMBLE = `set -euo pipefail
curl() {
  local body status
  body=$(mktemp)
  status=$(command curl -o "$body" -w '%{http_code}' "$@") || { cat "$body"; rm -f "$body"; return 1; }
  cat "$body"
  rm -f "$body"
  local call="$*"
  printf '%s %s\\n' "$status" "\${call//$'\\n'/ }" >> "$README_STATUSES"
}
`;

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number) {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return finished(child).finally(() => clearTimeout(timer));
}

describe('the README, replayed', function () {
  this.timeout(120_000);
  let t: TestContext;
  let dataDir: string;
  let stop: () => Promise<void>;
  let apiUrl: string;

  before(async () => {
    t = await createTestContext();
    dataDir = mkdtempSync(join(tmpdir(), 'klaxon-readme-'));
    // What `npm start` leaves in .data/dev: the admin token, and the URLs for the CLI.
    writeFileSync(join(dataDir, 'admin-token'), `${t.adminToken}\n`, { mode: 0o600 });
    writeFileSync(join(dataDir, 'env'), `DATABASE_URL=${t.databaseUrl}\nREDIS_URL=${t.redisUrl}\nREDIS_KEY_PREFIX=${t.keyPrefix}\n`, { mode: 0o600 });
    // A port nothing listens on now: a random one in 20,000-40,000 could be one of the
    // kernel's ephemeral ports, in use by an outgoing connection (EADDRINUSE, seen in CI).
    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    const api = spawnKlaxon(t, 'src/main/api.ts', [], { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
    const worker = spawnWorker(t);
    const apiDone = finished(api);
    const workerDone = finished(worker);
    stop = async () => {
      api.kill('SIGTERM');
      worker.kill('SIGTERM');
      await Promise.all([apiDone, workerDone]);
    };
    for (let i = 0; i < 300; i += 1) {
      if (await fetch(`${apiUrl}/healthz`).then((res) => res.ok, () => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the API did not start: ${(await Promise.race([apiDone, Promise.resolve({ stderr: '(still running)' })])).stderr}`);
  });
  after(async () => {
    await stop?.();
    rmSync(dataDir, { recursive: true, force: true });
    await t.close();
  });

  it('every shell example runs, in order, and every curl in it gets a 2xx or 3xx', async () => {
    const blocks = blocksOf(README).filter((block) => block.language === 'sh' && !block.marker?.startsWith('readme replay: skip'));
    expect(blocks.length).to.be.at.least(4);
    const script = blocks
      .map((block) => `# README line ${block.line}\n${commandsOf(block)}`)
      .join('\n\n')
      .replaceAll('.data/dev/', `${dataDir}/`)
      .replaceAll('http://127.0.0.1:3000', apiUrl);
    const statuses = join(dataDir, 'statuses');
    writeFileSync(statuses, '');
    const result = await run('bash', ['-c', PREAMBLE + script], { PATH: process.env.PATH, HOME: process.env.HOME, README_STATUSES: statuses }, 90_000);
    const calls = readFileSync(statuses, 'utf8').trim().split('\n').filter(Boolean);
    const failed = calls.filter((call) => !/^[23]\d\d /.test(call));
    expect(result.code, `the README's examples stopped (exit ${String(result.code)}):\n${result.stderr.slice(-3000)}`).to.equal(0);
    expect(failed, failed.join('\n')).to.deep.equal([]);
    expect(calls.length).to.be.at.least(30);
    // The transcript's second acknowledgement is refused, as it shows.
    expect(result.stdout).to.include('exit 1');
  });

  it('every example answer is exactly what the OpenAPI document says such an answer is', () => {
    const doc = buildOpenApiDocument(ENDPOINTS) as { components: { schemas: Record<string, unknown> } };
    // Strict: an object may hold no member its schema does not name (Problem allows extras by design).
    const strict = JSON.parse(JSON.stringify(doc), (key, value: unknown) => {
      if (typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'object' && !('additionalProperties' in value)) {
        return { ...value, additionalProperties: false };
      }
      return value;
    }) as object;
    const ajv = new Ajv2020({ strict: false, allErrors: true, formats: { uuid: true, 'date-time': true, date: true, email: true, e164: true, 'time-zone': true } });
    ajv.addSchema(strict, 'openapi.json');
    const examples = blocksOf(README).filter((block) => block.language === 'json');
    expect(examples.length).to.be.at.least(3);
    for (const example of examples) {
      const schema = /^answer: (\w+)$/.exec(example.marker ?? '')?.[1];
      expect(schema, `the json block at README line ${example.line} says which answer it is (<!-- answer: Schema -->)`).to.be.a('string');
      const validate = ajv.getSchema(`openapi.json#/components/schemas/${schema}`);
      expect(validate, `no schema ${schema}`).to.be.a('function');
      expect(validate?.(JSON.parse(example.text)), `README line ${example.line}: ${JSON.stringify(validate?.errors)}`).to.equal(true);
    }
  });

  it('its audit SQL is the SQL of docs/audit-queries.sql', () => {
    const normalise = (sql: string) => sql.replace(/--.*$/gm, '').replace(/\s+/g, ' ').trim();
    const documented = new Set([...loadAuditQueries().values()].map(normalise));
    const auditing = README.slice(README.indexOf('## Auditing with SQL'), README.indexOf('\n## ', README.indexOf('## Auditing with SQL') + 1));
    const shown = blocksOf(auditing).filter((block) => block.language === 'sql');
    expect(shown.length).to.be.at.least(5);
    // And any other query of one incident shown elsewhere (the alert log's, under Sending alerts).
    shown.push(...blocksOf(README).filter((block) => block.language === 'sql' && block.text.includes(":'incident_id'") && !shown.some((s) => s.text === block.text)));
    for (const block of shown) expect(documented.has(normalise(block.text)), `README line ${block.line}`).to.equal(true);
  });

  it('its Configuration table names every setting the code reads from the environment', () => {
    const read = new Set<string>(SETTING_VARIABLES);
    const files = (dir: string): string[] =>
      readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
      );
    for (const file of files('src')) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const match of text.matchAll(/(?:process\.env|\benv)\.([A-Z][A-Z0-9_]+)/g)) read.add(match[1] ?? '');
    }
    // Not settings: Node's, Postgres' and the shell's own variables, and the tests' fault injection (src/main/worker.ts).
    for (const name of ['NODE_ENV', 'PGOPTIONS', 'PATH', 'HOME', 'USER', 'LOGNAME', 'KLAXON_FAULT']) read.delete(name);
    const table = README.slice(README.indexOf('## Configuration'));
    const named = new Set([...table.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((match) => match[1]));
    expect([...read].filter((name) => !named.has(name)).sort()).to.deep.equal([]);
  });
});
