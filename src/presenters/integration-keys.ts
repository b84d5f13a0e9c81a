/**
 * Integration keys as the API and the CLI's --json show them: the hint, never the key
 * (but once, in the answer that created it), never its hash, never the signing secret
 * (only whether there is one).
 */
import type { IntegrationKey } from '../domain/integration-keys.ts';
import { Instant, Nullable, type Static, Type, Uuid } from '../schema/types.ts';
import { NullableInstant, iso } from './common.ts';

const keyFields = {
  id: Uuid(),
  service_id: Uuid(),
  name: Type.String(),
  key_hint: Type.String({ description: 'The first 8 characters of the key (klxr and 4 more): tells keys apart', examples: ['klxr3k9x'] }),
  rate_per_minute: Nullable(Type.Integer({ description: 'null: the configured default (INTAKE_RATE_PER_MINUTE)' })),
  rate_burst: Nullable(Type.Integer({ description: 'null: the configured default (INTAKE_RATE_BURST)' })),
  signed: Type.Boolean({ description: "Whether Grafana's requests must carry an HMAC signature made with the key's signing secret (never shown)" }),
  created_at: Instant(),
  created_by: Type.String({ description: 'Who created it: an API token, or cli:<user>' }),
  revoked_at: NullableInstant(),
  revoked_by: Nullable(Type.String()),
};

export const IntegrationKeyView = Type.Object(keyFields, { title: 'IntegrationKey' });

export const CreatedIntegrationKeyView = Type.Object(
  {
    ...keyFields,
    key: Type.String({
      description: 'The routing key itself (32 characters): shown in this answer only, never again',
      examples: ['klxr3k9x...'],
    }),
  },
  { title: 'CreatedIntegrationKey' },
);

export function presentIntegrationKey(key: IntegrationKey): Static<typeof IntegrationKeyView> {
  return {
    id: key.id,
    service_id: key.serviceId,
    name: key.name,
    key_hint: key.hint,
    rate_per_minute: key.ratePerMinute,
    rate_burst: key.rateBurst,
    signed: key.signed,
    created_at: iso(key.createdAt),
    created_by: key.createdBy,
    revoked_at: iso(key.revokedAt),
    revoked_by: key.revokedBy,
  };
}
