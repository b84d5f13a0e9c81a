/**
 * Every endpoint of the API, in one list: the router, the access decisions and the
 * OpenAPI document are made from it (src/api/endpoint.ts). A route exists if and only
 * if it is declared here; test/api/routes.test.ts holds the app to that.
 */
import type { Endpoint } from '../endpoint.ts';
import { docsEndpoints } from './docs.ts';
import { inboundEndpoints } from './inbound.ts';
import { incidentEndpoints } from './incidents.ts';
import { intakeEndpoints } from './intake.ts';
import { integrationKeyEndpoints } from './integration-keys.ts';
import { notificationEndpoints } from './notifications.ts';
import { operationsEndpoints } from './operations.ts';
import { peopleEndpoints } from './people.ts';
import { policyEndpoints } from './policies.ts';
import { scheduleEndpoints } from './schedules.ts';
import { tokenEndpoints } from './tokens.ts';

export const ENDPOINTS: readonly Endpoint[] = [
  ...operationsEndpoints,
  ...docsEndpoints(() => ENDPOINTS),
  ...incidentEndpoints,
  ...policyEndpoints,
  ...scheduleEndpoints,
  ...peopleEndpoints,
  ...integrationKeyEndpoints,
  ...notificationEndpoints,
  ...tokenEndpoints,
  ...inboundEndpoints,
  ...intakeEndpoints,
];
