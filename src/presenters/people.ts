/** Users, teams and services as the API shows them (each view is the answer's schema). */
import type { Service, Team, User } from '../domain/people.ts';
import { Nullable, type Static, Type, Uuid } from '../schema/types.ts';
import { iso, timestamps } from './common.ts';

export const UserView = Type.Object(
  {
    id: Uuid(),
    name: Type.String(),
    email: Type.String(),
    phone: Nullable(Type.String({ description: 'E.164' })),
    time_zone: Type.String({ description: 'IANA, canonical' }),
    notify_on_acknowledged: Type.Boolean({ description: 'Told when an incident they were paged for is acknowledged' }),
    notify_on_resolved: Type.Boolean({ description: 'Told when an incident they were paged for is resolved' }),
    ...timestamps(),
  },
  { title: 'User' },
);

export function presentUser(user: User): Static<typeof UserView> {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    phone: user.phone,
    time_zone: user.timeZone,
    notify_on_acknowledged: user.notifyOnAcknowledged,
    notify_on_resolved: user.notifyOnResolved,
    created_at: iso(user.createdAt),
    updated_at: iso(user.updatedAt),
  };
}

export const TeamView = Type.Object(
  {
    id: Uuid(),
    name: Type.String(),
    members: Type.Array(Type.Object({ id: Uuid(), name: Type.String(), email: Type.String() }), { description: 'In the order given' }),
    ...timestamps(),
  },
  { title: 'Team' },
);

export function presentTeam(team: Team): Static<typeof TeamView> {
  return {
    id: team.id,
    name: team.name,
    members: team.members.map(({ id, name, email }) => ({ id, name, email })),
    created_at: iso(team.createdAt),
    updated_at: iso(team.updatedAt),
  };
}

export const ServiceView = Type.Object(
  {
    id: Uuid(),
    name: Type.String(),
    description: Nullable(Type.String()),
    escalation_policy_id: Nullable(Uuid({ description: 'null: the default policy' })),
    team_id: Nullable(Uuid({ description: 'null: organisation-wide' })),
    auto_escalate: Type.Boolean({ description: 'Incidents that alerts open start escalating on the policy at once (default true)' }),
    ...timestamps(),
  },
  { title: 'Service' },
);

export function presentService(service: Service): Static<typeof ServiceView> {
  return {
    id: service.id,
    name: service.name,
    description: service.description,
    escalation_policy_id: service.escalationPolicyId,
    team_id: service.teamId,
    auto_escalate: service.autoEscalate,
    created_at: iso(service.createdAt),
    updated_at: iso(service.updatedAt),
  };
}
