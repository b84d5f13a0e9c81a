/**
 * Who a level pages, resolved at the moment it executes: a user is themself, a
 * schedule is whoever is on call right now (overrides included), a team is all its
 * members. The same person reached through two targets is paged once, credited to
 * the first target that named them.
 */
import type { Assignee } from '../domain/incident.ts';
import type { PolicyTarget } from '../domain/policy.ts';
import { onCallFor, usersByIds } from './on-call.ts';
import { type Queryable, run, sql } from '../db/queries.ts';

export async function resolveTargets(db: Queryable, targetLists: readonly (readonly PolicyTarget[])[], at: Date): Promise<Assignee[][]> {
  const all = targetLists.flat();
  const idsOf = (type: PolicyTarget['type']) => [...new Set(all.filter((t) => t.type === type).map((t) => t.id))];

  const onCall = await onCallFor(db, idsOf('schedule'), at);
  const teamIds = idsOf('team');
  const members = teamIds.length === 0 ? [] : await run<{ team_id: string; user_id: string }>(db, sql('targets-team-members'), [teamIds]);
  const usersOf = (target: PolicyTarget): string[] => {
    if (target.type === 'user') return [target.id];
    if (target.type === 'schedule') return [onCall.get(target.id)].filter((id): id is string => typeof id === 'string');
    return members.filter((m) => m.team_id === target.id).map((m) => m.user_id);
  };

  const users = await usersByIds(db, all.flatMap(usersOf));
  return targetLists.map((targets) => {
    const paged = new Map<string, Assignee>();
    for (const target of targets) {
      for (const userId of usersOf(target)) {
        const user = users.get(userId);
        if (user && !paged.has(userId)) {
          paged.set(userId, { user_id: userId, name: user.name, via: { type: target.type, id: target.id } });
        }
      }
    }
    return [...paged.values()];
  });
}
