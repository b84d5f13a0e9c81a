/**
 * How a person is reached and told (issue 11): /users/:id/contact-methods (and the
 * verification of a phone number), /users/:id/notification-rules, and
 * /users/:id/notifications (every channel's, newest first; in-app ones are marked read).
 *
 * Access follows the person's own record (people.ts): any token with `read` reads a
 * person's methods and rules; only an organisation-wide admin changes them, as only
 * one changes the person (a team's token must not redirect someone's pages to a URL of
 * its choosing). Tokens are not people, so there is no "my own settings" rule.
 * Notifications are about incidents, which belong to teams: a team's token lists and
 * marks read only those about its team's incidents (`read` to list, `write` to mark).
 */
import { HttpProblem } from '../problem.ts';
import {
  confirmVerification,
  createContactMethod,
  disableContactMethod,
  getContactMethod,
  listContactMethods,
  requestVerification,
  updateContactMethod,
} from '../../commands/contact-methods.ts';
import { createNotificationRule, deleteNotificationRule, listNotificationRules } from '../../commands/notification-rules.ts';
import { listUserNotifications, markNotificationRead } from '../../commands/user-notifications.ts';
import { MAX_ADDRESS_LENGTH, MAX_POSITION, VerificationTooSoonError } from '../../domain/contact-methods.ts';
import { CHANNEL_KINDS } from '../../domain/notifications.ts';
import {
  ContactMethodView,
  NotificationRuleView,
  UserNotificationView,
  presentContactMethod,
  presentNotificationRule,
  presentUserNotification,
} from '../../presenters/notifications.ts';
import { Nullable, Page, StringEnum, Type, Uuid } from '../../schema/types.ts';
import { decodeCursor, encodeCursor } from '../cursor.ts';
import { type Endpoint, endpoint } from '../endpoint.ts';
import { DEFAULT_PAGE_SIZE } from './pages.ts';

const TAG = 'users';
const organisationAdmin = { scope: 'admin', teams: 'organisation' } as const;

// Requests ----------------------------------------------------------------------------------

/** A label people read in a list: no control characters, not only blanks. */
const Label = () =>
  Nullable(
    Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: '^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$',
      description: 'null clears it',
    }),
  );

const Address = () =>
  Type.String({
    maxLength: MAX_ADDRESS_LENGTH,
    description:
      'email: an e-mail address; sms, voice: E.164 (+4915112345678); slack: a member id (U024BE7LH); teams, webhook: an https URL (http only for localhost, 127.0.0.1, [::1])',
  });

const Position = () => Type.Integer({ minimum: 0, maximum: MAX_POSITION, description: 'The order fallbacks follow, lowest first (default: after the others)' });

const CreateContactMethodBody = Type.Object(
  {
    kind: StringEnum(CHANNEL_KINDS, { description: 'in_app cannot be added: every person has one' }),
    address: Address(),
    label: Type.Optional(Label()),
    position: Type.Optional(Position()),
  },
  { additionalProperties: false, title: 'CreateContactMethodBody' },
);

const EditContactMethodBody = Type.Object(
  {
    address: Type.Optional(Address()),
    label: Type.Optional(Label()),
    position: Type.Optional(Position()),
  },
  { additionalProperties: false, minProperties: 1, title: 'EditContactMethodBody' },
);

const ConfirmVerificationBody = Type.Object(
  { code: Type.String({ pattern: '^[0-9]{6}$', description: 'The 6 digits sent' }) },
  { additionalProperties: false, title: 'ConfirmVerificationBody' },
);

const CreateNotificationRuleBody = Type.Object(
  {
    contact_method_id: Uuid({ description: "One of this person's contact methods" }),
    delay: Type.String({ pattern: '^[0-9]+(ms|s|m|h|d)$', maxLength: 20, description: 'After the page: 0s (at once) or 1s to 24h' }),
  },
  { additionalProperties: false, title: 'CreateNotificationRuleBody' },
);

const NotificationsQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: 'Items per page (default 50)' })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'next_cursor of the previous page' })),
  },
  { additionalProperties: false },
);

const Items = <T extends Parameters<typeof Type.Array>[0]>(item: T) => Type.Object({ items: Type.Array(item) });

// Endpoints ---------------------------------------------------------------------------------

const methods = '/users/:id/contact-methods';
const method = `${methods}/:methodId` as const;

export const notificationEndpoints: readonly Endpoint[] = [
  endpoint({
    method: 'GET',
    path: methods,
    tag: TAG,
    summary: "A person's contact methods, in fallback order (disabled ones are not shown)",
    scope: 'read',
    response: { status: 200, schema: Items(ContactMethodView) },
    handler: async ({ params }, deps) => ({ items: (await listContactMethods(deps.pool, params.id)).map(presentContactMethod) }),
  }),
  endpoint({
    method: 'POST',
    path: methods,
    tag: TAG,
    summary: 'Add a contact method (sms and voice numbers are unverified until a code sent to them is confirmed)',
    ...organisationAdmin,
    body: CreateContactMethodBody,
    response: { status: 201, schema: ContactMethodView },
    problems: [409],
    handler: async ({ params, body, ctx }, deps) => {
      const created = await createContactMethod(deps, params.id, { kind: body.kind, address: body.address, label: body.label, position: body.position });
      ctx.set('Location', `/users/${params.id}/contact-methods/${created.id}`);
      return presentContactMethod(created);
    },
  }),
  endpoint({
    method: 'GET',
    path: method,
    tag: TAG,
    summary: 'Read a contact method',
    scope: 'read',
    response: { status: 200, schema: ContactMethodView },
    handler: async ({ params }, deps) => presentContactMethod(await getContactMethod(deps.pool, params.id, params.methodId)),
  }),
  endpoint({
    method: 'PATCH',
    path: method,
    tag: TAG,
    summary: 'Edit a contact method (the fields given; a new sms or voice number must be verified again)',
    ...organisationAdmin,
    body: EditContactMethodBody,
    response: { status: 200, schema: ContactMethodView },
    problems: [409],
    handler: async ({ params, body }, deps) =>
      presentContactMethod(await updateContactMethod(deps, params.id, params.methodId, { address: body.address, label: body.label, position: body.position })),
  }),
  endpoint({
    method: 'DELETE',
    path: method,
    tag: TAG,
    summary: 'Disable a contact method and drop its rules (kept for the notifications that name it; 409 for the in_app method)',
    ...organisationAdmin,
    response: { status: 204 },
    problems: [409],
    handler: async ({ params }, deps) => {
      await disableContactMethod(deps, params.id, params.methodId);
    },
  }),
  endpoint({
    method: 'POST',
    path: `${method}/verification`,
    tag: TAG,
    summary: 'Send a verification code to an sms or voice number (valid 10 minutes; at most one a minute: 429)',
    ...organisationAdmin,
    response: { status: 200, schema: ContactMethodView },
    problems: [409, 429],
    handler: async ({ params, ctx }, deps) => {
      try {
        const started = await requestVerification(deps, params.id, params.methodId);
        return presentContactMethod(started.method);
      } catch (error) {
        if (error instanceof VerificationTooSoonError) {
          throw new HttpProblem(
            429,
            error.code,
            'Too soon',
            error.message,
            { retry_after_seconds: error.retryAfterSeconds },
            {
              'Retry-After': String(error.retryAfterSeconds),
            },
          );
        }
        throw error;
      } finally {
        ctx.set('Cache-Control', 'no-store');
      }
    },
  }),
  endpoint({
    method: 'POST',
    path: `${method}/verification/confirm`,
    tag: TAG,
    summary: 'Confirm the code sent (400 wrong or expired; the fifth wrong code voids it: 409, ask for a new one)',
    ...organisationAdmin,
    body: ConfirmVerificationBody,
    response: { status: 200, schema: ContactMethodView },
    problems: [409],
    handler: async ({ params, body }, deps) => presentContactMethod(await confirmVerification(deps, params.id, params.methodId, body.code)),
  }),
  endpoint({
    method: 'GET',
    path: '/users/:id/notification-rules',
    tag: TAG,
    summary: "A person's notification rules, by delay (none: every usable method at once)",
    scope: 'read',
    response: { status: 200, schema: Items(NotificationRuleView) },
    handler: async ({ params }, deps) => ({ items: (await listNotificationRules(deps.pool, params.id)).map(presentNotificationRule) }),
  }),
  endpoint({
    method: 'POST',
    path: '/users/:id/notification-rules',
    tag: TAG,
    summary: 'Add a notification rule: a contact method, and how long after the page (409 if it exists)',
    ...organisationAdmin,
    body: CreateNotificationRuleBody,
    response: { status: 201, schema: NotificationRuleView },
    problems: [409, 422],
    handler: async ({ params, body, ctx }, deps) => {
      const rule = await createNotificationRule(deps, params.id, { contactMethodId: body.contact_method_id, delay: body.delay });
      ctx.set('Location', `/users/${params.id}/notification-rules/${rule.id}`);
      return presentNotificationRule(rule);
    },
  }),
  endpoint({
    method: 'DELETE',
    path: '/users/:id/notification-rules/:ruleId',
    tag: TAG,
    summary: 'Delete a notification rule',
    ...organisationAdmin,
    response: { status: 204 },
    handler: async ({ params }, deps) => {
      await deleteNotificationRule(deps, params.id, params.ruleId);
    },
  }),
  endpoint({
    method: 'GET',
    path: '/users/:id/notifications',
    tag: TAG,
    summary: "A person's notifications on every channel, newest first (a team's token: those about its team's incidents)",
    scope: 'read',
    query: NotificationsQuery,
    response: { status: 200, schema: Page(UserNotificationView) },
    handler: async ({ params, query, principal }, deps) => {
      const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      const page = await listUserNotifications(deps.pool, principal, params.id, { limit: query.limit ?? DEFAULT_PAGE_SIZE, after });
      return { items: page.items.map(presentUserNotification), next_cursor: page.next ? encodeCursor(page.next) : null };
    },
  }),
  endpoint({
    method: 'POST',
    path: '/users/:id/notifications/:notificationId/read',
    tag: TAG,
    summary: 'Mark an in-app notification read (again: no change; 409 for other channels)',
    scope: 'write',
    response: { status: 200, schema: UserNotificationView },
    problems: [409],
    handler: async ({ params, principal }, deps) => presentUserNotification(await markNotificationRead(deps, principal, params.id, params.notificationId)),
  }),
];
