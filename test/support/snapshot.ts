/** Everything stored about an incident, to prove that a refused request changed nothing. */
import type pg from 'pg';

export async function storedState(pool: pg.Pool, incidentId?: string): Promise<unknown> {
  const where = incidentId ? 'WHERE id = $1' : '';
  const whereRef = incidentId ? 'WHERE incident_id = $1' : '';
  const values = incidentId ? [incidentId] : [];
  const [incidents, escalations, events] = await Promise.all([
    pool.query(`SELECT * FROM incidents ${where} ORDER BY id`, values),
    pool.query(`SELECT * FROM escalations ${whereRef} ORDER BY id`, values),
    pool.query(`SELECT * FROM incident_events ${whereRef} ORDER BY id`, values),
  ]);
  return { incidents: incidents.rows, escalations: escalations.rows, events: events.rows };
}
