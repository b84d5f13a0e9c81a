/** The named queries of docs/audit-queries.sql, run as written (psql's :'incident_id' bound to $1). */
import { readFileSync } from 'node:fs';
import type pg from 'pg';

const FILE = new URL('../../docs/audit-queries.sql', import.meta.url);

export function loadAuditQueries(): Map<string, string> {
  const queries = new Map<string, string>();
  for (const block of readFileSync(FILE, 'utf8')
    .split(/^-- name: /m)
    .slice(1)) {
    const [name = '', ...lines] = block.split('\n');
    queries.set(name.trim(), lines.join('\n').trim());
  }
  return queries;
}

export async function runAuditQuery(pool: pg.Pool, name: string, incidentId?: string): Promise<Record<string, unknown>[]> {
  const text = loadAuditQueries().get(name);
  if (!text) throw new Error(`no audit query named ${name}`);
  const bound = text.replaceAll(":'incident_id'", '$1');
  return (await pool.query<Record<string, unknown>>(bound, text.includes(":'incident_id'") ? [incidentId] : [])).rows;
}
