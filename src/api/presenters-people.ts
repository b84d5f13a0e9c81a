/** Users, teams and services as the API shows them: snake_case, ISO timestamps. */
import type { Service, Team, User } from '../domain/people.ts';

export function presentUser(user: User) {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    phone: user.phone,
    time_zone: user.timeZone,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}

export function presentTeam(team: Team) {
  return {
    id: team.id,
    name: team.name,
    members: team.members.map(({ id, name, email }) => ({ id, name, email })),
    created_at: team.createdAt.toISOString(),
    updated_at: team.updatedAt.toISOString(),
  };
}

export function presentService(service: Service) {
  return {
    id: service.id,
    name: service.name,
    description: service.description,
    escalation_policy_id: service.escalationPolicyId,
    team_id: service.teamId,
    created_at: service.createdAt.toISOString(),
    updated_at: service.updatedAt.toISOString(),
  };
}
