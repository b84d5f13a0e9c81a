/** Factories: put an incident in a given state through the API, as a user would. */
import type { IncidentState } from '../../src/domain/incident-states.ts';
import type { Api } from './http.ts';

export const ACTION_FOR: Record<Exclude<IncidentState, 'OPEN'>, string> = {
  ESCALATING: 'escalate',
  ACKNOWLEDGED: 'acknowledge',
  RESOLVED: 'resolve',
  CANCELLED: 'cancel',
};

/** The path from OPEN to each state. */
const PATH_TO: Record<IncidentState, Exclude<IncidentState, 'OPEN'>[]> = {
  OPEN: [],
  ESCALATING: ['ESCALATING'],
  ACKNOWLEDGED: ['ESCALATING', 'ACKNOWLEDGED'],
  RESOLVED: ['ESCALATING', 'RESOLVED'],
  CANCELLED: ['ESCALATING', 'CANCELLED'],
};

export async function incidentIn(api: Api, state: IncidentState, title = `incident in ${state}`): Promise<string> {
  const created = await api.post('/incidents', { title });
  if (created.status !== 201) throw new Error(`could not open an incident: ${created.text}`);
  const id = String(created.body.id);
  for (const step of PATH_TO[state]) {
    const res = await api.post(`/incidents/${id}/${ACTION_FOR[step]}`);
    if (res.status !== 200) throw new Error(`could not ${ACTION_FOR[step]}: ${res.text}`);
  }
  return id;
}
