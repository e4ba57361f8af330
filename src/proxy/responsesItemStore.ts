// What makes the Responses API's stored state work on translated deployments (every deployment not served
// by OpenAI's own /responses): the output items of each translated Response (message, function_call and
// reasoning items) are kept in Redis under their item ids, and each Response's link of its conversation
// under its response id, for `ttlSeconds` (general_settings.responses_item_ttl_seconds, an hour by default).
// A later request's `{ type: 'item_reference', id }` input items and its `previous_response_id` are read
// back from there before the request is translated. A conversation is kept as a chain, not copied into
// every Response: each Response's link holds its own input items (references resolved), its output items
// and the id of the Response it continued, so memory grows with the conversation, not with its square; the
// links of a chain are walked back on use and their TTL renewed when it grows (a missing link is a 400,
// never a silently shortened conversation). Everything is scoped to the caller's tenant (its team,
// or its key when the key has no team): one tenant cannot reference another's items. The items are written
// before the answer's last byte leaves (the call's `beforeEnd`), so a client that saw a Response complete
// can reference it. A ResponsesCall also remembers the stream tap, so a stream the proxy itself ends with
// an error ends in a Responses `response.failed` event (responsesStreamFailure).
import type { Redis } from 'ioredis';
import type { Principal } from '../auth/principal.js';
import { badRequest } from '../errors.js';
import type { ErrorInfo } from './call/failures.js';
import type { Deployment } from './deployments.js';
import { servesResponsesNatively } from './exchange/responsesExchange.js';
import { type Exchange, isRecord, type StreamTap } from './exchange/types.js';

type Json = Record<string, unknown>;

export const DEFAULT_RESPONSES_ITEM_TTL_SECONDS = 3600;
/** The longest chain of Responses a `previous_response_id` may continue (each link is one Redis read). */
const MAX_CONVERSATION_LINKS = 1000;

/** One Response of a conversation: what it added (its input and output items) and what it continued. */
interface ConversationLink {
  previous: string | null;
  input: unknown[];
  output: unknown[];
}

/** The tenant an item belongs to: the key's team, else the key itself. */
function scopeOf(principal: Principal): string {
  return principal.teamId !== null ? `t:${principal.teamId}` : `k:${principal.keyHash}`;
}

export class ResponsesItemStore {
  constructor(
    private readonly redis: Redis,
    readonly ttlSeconds = DEFAULT_RESPONSES_ITEM_TTL_SECONDS,
  ) {}

  private itemKey = (scope: string, id: string) => `responses:item:${scope}:${id}`;
  private conversationKey = (scope: string, id: string) => `responses:conv:${scope}:${id}`;

  /**
   * Starts a Responses call. On a translated deployment the body is rewritten in place: the conversation of
   * `previous_response_id` is put before `input` (the field itself is removed: it is resolved), and every
   * `item_reference` is replaced by the item it names. Unknown, expired or another tenant's ids are a 400.
   */
  async open(body: Json, deployment: Deployment, principal: Principal): Promise<ResponsesCall> {
    if (servesResponsesNatively(deployment, body)) return new ResponsesCall(null);
    const scope = scopeOf(principal);
    const own: unknown[] = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : [];
    if (Array.isArray(body.input)) own.push(...body.input);
    await this.resolveReferences(own, scope);
    const previous = body.previous_response_id;
    let chain: string[] = [];
    if (previous !== undefined && previous !== null) {
      if (typeof previous !== 'string' || !previous) throw badRequest('previous_response_id', 'must be a string');
      const links = await this.readChain(scope, previous);
      chain = links.map(([id]) => id);
      body.input = [...links.reverse().flatMap(([, link]) => [...link.input, ...link.output]), ...own];
      delete body.previous_response_id;
    } else if (Array.isArray(body.input)) {
      body.input = own;
    }
    const link = { previous: chain[0] ?? null, input: own };
    return new ResponsesCall({ store: this, scope, link, chain, keep: body.store !== false });
  }

  /** The conversation a Response ends, newest link first; any link missing (expired) is a 400. */
  private async readChain(scope: string, newest: string): Promise<[string, ConversationLink][]> {
    const links: [string, ConversationLink][] = [];
    for (let id: string | null = newest; id !== null; ) {
      if (links.length === MAX_CONVERSATION_LINKS) {
        throw badRequest('previous_response_id', `continues more than ${MAX_CONVERSATION_LINKS} responses`);
      }
      const stored = await this.redis.get(this.conversationKey(scope, id));
      if (stored === null) {
        const which = id === newest ? `no stored response ${id}` : `response ${id}, earlier in this conversation, is`;
        throw badRequest(
          'previous_response_id',
          `${which} not kept for this key (responses made with store: false are not kept; others are kept ` +
            `for ${this.ttlSeconds} s after the conversation last grew): send the whole input instead`,
        );
      }
      const link = JSON.parse(stored) as ConversationLink;
      links.push([id, link]);
      id = link.previous;
    }
    return links;
  }

  private async resolveReferences(input: unknown[], scope: string): Promise<void> {
    const refs: number[] = [];
    input.forEach((item, i) => {
      if (isRecord(item) && item.type === 'item_reference') refs.push(i);
    });
    if (!refs.length) return;
    const ids = refs.map((i) => {
      const id = (input[i] as Json).id;
      if (typeof id !== 'string' || !id) throw badRequest(`input[${i}].id`, 'must be a string');
      return id;
    });
    const found = await this.redis.mget(ids.map((id) => this.itemKey(scope, id)));
    refs.forEach((i, n) => {
      const stored = found[n];
      if (typeof stored !== 'string') {
        throw badRequest(
          `input[${i}].id`,
          `no stored item ${ids[n]} for this key (items of responses made with store: false are not kept; ` +
            `others are kept for ${this.ttlSeconds} s): send the item itself`,
        );
      }
      input[i] = JSON.parse(stored);
    });
  }

  /**
   * Keeps a Response's output items by id and its conversation link by response id, and renews the TTL of
   * the links it continued: a conversation stays whole for `ttlSeconds` after it last grew.
   */
  async save(
    scope: string,
    responseId: string | null,
    link: Omit<ConversationLink, 'output'>,
    output: Json[],
    chain: string[],
  ): Promise<void> {
    const ttl = this.ttlSeconds;
    const writes: Promise<unknown>[] = [];
    for (const item of output) {
      if (typeof item.id !== 'string') continue;
      writes.push(this.redis.set(this.itemKey(scope, item.id), JSON.stringify(item), 'EX', ttl));
    }
    if (responseId) {
      const value = JSON.stringify({ ...link, output });
      writes.push(this.redis.set(this.conversationKey(scope, responseId), value, 'EX', ttl));
      for (const id of chain) writes.push(this.redis.expire(this.conversationKey(scope, id), ttl));
    }
    await Promise.all(writes);
  }
}

interface Keeping {
  store: ResponsesItemStore;
  scope: string;
  /** This Response's own input (references resolved) and the Response it continued. */
  link: Omit<ConversationLink, 'output'>;
  /** The ids of the Responses it continued, newest first. */
  chain: string[];
  /** False when the request said `store: false`. */
  keep: boolean;
}

/** One Responses call: captures the answer's output items to keep, and the stream tap for failure frames. */
export class ResponsesCall {
  private output: Json[] | null = null;
  private responseId: string | null = null;
  private tap: StreamTap | null = null;

  constructor(private readonly keeping: Keeping | null) {}

  wrap(exchange: Exchange): Exchange {
    return {
      ...exchange,
      fromJson: (raw, json) => {
        const result = exchange.fromJson(raw, json);
        this.output = result.outputItems ?? null;
        this.responseId = result.responseId;
        return result;
      },
      streamTap: () => {
        this.tap = exchange.streamTap();
        return this.tap;
      },
    };
  }

  /** Keeps the answer's items (translated calls not sent with `store: false`); run before the last byte. */
  async save(): Promise<void> {
    const k = this.keeping;
    if (!k?.keep) return;
    const output = this.tap ? (this.tap.outputItems?.() ?? null) : this.output;
    if (!output) return;
    const responseId = this.tap ? this.tap.responseId() : this.responseId;
    await k.store.save(k.scope, responseId, k.link, output, k.chain);
  }

  /** The `response.failed` frame(s) ending a started stream the proxy itself ends with an error. */
  failureFrames(info: ErrorInfo): string[] {
    return this.tap?.failed?.({ code: info.code ?? 'server_error', message: info.message }) ?? [];
  }
}
