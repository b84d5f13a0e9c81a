/**
 * In-app: nothing leaves the process. The outbox row is the notification: the API lists
 * it (GET /users/:id/notifications) and marks it read.
 *
 * Delivery guarantee: exactly once, by construction. "Sent" means the row is there to be
 * listed; there is no provider, no id, nothing to retry.
 */
import { type Channel, type DeliveryOutcome, sent } from './channel.ts';

export function createInAppChannel(): Channel<'in_app'> {
  return {
    kind: 'in_app',
    send: (): Promise<DeliveryOutcome> => Promise.resolve(sent(null)),
  };
}
