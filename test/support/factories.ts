/** Factories for people, teams, schedules, policies and services, written straight to the database or via the API. */
import type pg from 'pg';
import type { Api } from './http.ts';

export async function createUser(pool: pg.Pool, name: string): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO users (name, email, time_zone) VALUES ($1, $2, 'UTC') RETURNING id`, [
    name,
    `${name.toLowerCase().replace(/\W+/g, '.')}.${Math.random().toString(36).slice(2, 8)}@example.com`,
  ]);
  return String(rows[0]?.id);
}

export async function createTeam(pool: pg.Pool, name: string, userIds: string[]): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO teams (name) VALUES ($1) RETURNING id`, [name]);
  const id = String(rows[0]?.id);
  await pool.query(`INSERT INTO team_members (team_id, user_id, position) SELECT $1, u, o - 1 FROM unnest($2::uuid[]) WITH ORDINALITY AS m (u, o)`, [
    id,
    userIds,
  ]);
  return id;
}

export async function createPolicyVia(api: Api, body: Record<string, unknown>): Promise<string> {
  const res = await api.post('/escalation-policies', body);
  if (res.status !== 201) throw new Error(`could not create the policy: ${res.text}`);
  return String(res.body.id);
}

export async function createServiceRow(pool: pg.Pool, name: string, policyId: string | null): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO services (name, escalation_policy_id) VALUES ($1, $2) RETURNING id`, [name, policyId]);
  return String(rows[0]?.id);
}

/** A weekly rotation handing off on Mondays at 09:00 UTC, starting Monday 2026-02-23. */
export async function createWeeklySchedule(api: Api, name: string, userIds: string[]): Promise<string> {
  const res = await api.post('/schedules', {
    name,
    rotation: { user_ids: userIds, shift_length: 1, shift_unit: 'weeks', handoff_time: '09:00', time_zone: 'UTC', start_date: '2026-02-23' },
  });
  if (res.status !== 201) throw new Error(`could not create the schedule: ${res.text}`);
  return String(res.body.id);
}
