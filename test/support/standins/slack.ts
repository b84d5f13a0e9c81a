/**
 * A Slack stand-in: the Web API methods the channel calls (chat.postMessage, chat.update)
 * behind a bot token, answering as Slack does (HTTP 200 with {ok, error} for most
 * failures), recording the messages; and Slack's side of interactivity: a button press
 * POSTed to a URL as a signed `payload` form, or a badly signed one. The signature is
 * computed here, independently of src/notify/channels/slack.ts.
 */
import { createHmac } from 'node:crypto';
import { type Answer, type RecordedRequest, type RecordingServer, startRecordingServer } from './recording-http.ts';

export interface PostedMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
  metadata: unknown;
  /** The versions chat.update wrote, oldest first. */
  updates: { text: string; blocks: unknown[] }[];
}

export interface ButtonPress {
  userId: string;
  actionId: string;
  value: string;
  channel: string;
  messageTs: string;
  /** X-Slack-Request-Timestamp, in unix seconds. */
  timestamp: number;
}

export interface SlackStandIn {
  /** What the channel's apiBaseUrl is set to. */
  readonly apiBaseUrl: string;
  readonly botToken: string;
  readonly signingSecret: string;
  readonly server: RecordingServer;
  readonly messages: PostedMessage[];
  /** Answers for the next API calls, before any routing ({ok:false,error:'ratelimited'}, a 503, a hang...). */
  script(...answers: Answer[]): void;
  /** POSTs a block_actions payload to `url` as Slack would; `signWith` another secret for a forged one. */
  pressButton(url: string, press: ButtonPress, options?: { signWith?: string }): Promise<Response>;
  /** The exact body and headers pressButton sends, for a test that checks them without a server. */
  buttonRequest(url: string, press: ButtonPress, options?: { signWith?: string }): { body: string; headers: Record<string, string> };
  close(): Promise<void>;
}

export async function startSlackStandIn({ botToken = 'xoxb-stand-in', signingSecret = 'stand-in-signing-secret' } = {}): Promise<SlackStandIn> {
  const messages: PostedMessage[] = [];
  let serial = 0;
  const fail = (error: string): Answer => ({ status: 200, body: { ok: false, error } });

  const handler = (request: RecordedRequest): Answer => {
    const method = /^\/api\/([a-zA-Z.]+)$/.exec(request.path)?.[1];
    if (request.method !== 'POST' || !method) return { status: 404, body: 'not found' };
    const auth = request.headers.authorization;
    if (!auth) return fail('not_authed');
    if (auth !== `Bearer ${botToken}`) return fail('invalid_auth');
    let args: Record<string, unknown>;
    try {
      args = JSON.parse(request.body) as Record<string, unknown>;
    } catch {
      return fail('invalid_json');
    }
    const channel = typeof args.channel === 'string' ? args.channel : '';
    const text = typeof args.text === 'string' ? args.text : '';
    const blocks = Array.isArray(args.blocks) ? (args.blocks as unknown[]) : [];
    switch (method) {
      case 'chat.postMessage': {
        if (!/^[CDGU][A-Z0-9]{2,}$/.test(channel)) return fail('channel_not_found');
        if (!text && blocks.length === 0) return fail('no_text');
        const ts = `${1_767_225_600 + ++serial}.000100`;
        messages.push({ channel, ts, text, blocks, metadata: args.metadata ?? null, updates: [] });
        return { status: 200, body: { ok: true, channel, ts, message: { type: 'message', text, ts, bot_id: 'B0STANDIN' } } };
      }
      case 'chat.update': {
        const message = messages.find((candidate) => candidate.channel === channel && candidate.ts === args.ts);
        if (!message) return fail('message_not_found');
        message.updates.push({ text, blocks });
        return { status: 200, body: { ok: true, channel, ts: message.ts, text } };
      }
      default:
        return fail('unknown_method');
    }
  };

  const server = await startRecordingServer({ handler, name: 'Slack stand-in' });
  const buttonRequest = (url: string, press: ButtonPress, { signWith = signingSecret }: { signWith?: string } = {}) => {
    const payload = {
      type: 'block_actions',
      user: { id: press.userId, username: 'stand-in-user', name: 'stand-in-user', team_id: 'T0STANDIN' },
      api_app_id: 'A0STANDIN',
      token: 'deprecated-verification-token',
      container: { type: 'message', message_ts: press.messageTs, channel_id: press.channel, is_ephemeral: false },
      trigger_id: '1.2.3',
      team: { id: 'T0STANDIN', domain: 'stand-in' },
      channel: { id: press.channel, name: 'incidents' },
      message: { type: 'message', ts: press.messageTs, text: 'a page', bot_id: 'B0STANDIN' },
      response_url: `${server.url}/actions/T0STANDIN/1/response`,
      actions: [{ type: 'button', action_id: press.actionId, block_id: 'b1', value: press.value, action_ts: `${press.timestamp}.000200` }],
    };
    const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
    const timestamp = String(press.timestamp);
    const signature = `v0=${createHmac('sha256', signWith).update(`v0:${timestamp}:${body}`).digest('hex')}`;
    return {
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signature },
    };
  };
  return {
    apiBaseUrl: `${server.url}/api`,
    botToken,
    signingSecret,
    server,
    messages,
    script: (...answers) => server.script(...answers),
    buttonRequest,
    pressButton: (url, press, options) => {
      const { body, headers } = buttonRequest(url, press, options);
      return fetch(url, { method: 'POST', headers, body });
    },
    close: () => server.close(),
  };
}
