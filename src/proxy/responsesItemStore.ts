// What makes the Responses API's stored state work on translated deployments (every deployment not served
// by OpenAI's own /responses): the output items of each translated Response (message, function_call and
// reasoning items) are kept in Redis under their item ids, and each Response's whole conversation (its
// input items followed by its output items) under its response id, for `ttlSeconds` (an hour by default).
// A later request's `{ type: 'item_reference', id }` input items and its `previous_response_id` are read
// back from there before the request is translated. Everything is scoped to the caller's tenant (its team,
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
    let input: unknown[] | null = Array.isArray(body.input) ? body.input : null;
    const previous = body.previous_response_id;
    if (previous !== undefined && previous !== null) {
      if (typeof previous !== 'string' || !previous) throw badRequest('previous_response_id', 'must be a string');
      const stored = await this.redis.get(this.conversationKey(scope, previous));
      if (stored === null) {
        throw badRequest(
          'previous_response_id',
          `no stored response ${previous} for this key (responses made with store: false are not kept; ` +
            `others are kept for ${this.ttlSeconds} s)`,
        );
      }
      const head = JSON.parse(stored) as unknown[];
      const rest = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : (input ?? []);
      input = [...head, ...rest];
      body.input = input;
      delete body.previous_response_id;
    }
    if (input) await this.resolveReferences(input, scope);
    return new ResponsesCall({ store: this, scope, body, keep: body.store !== false });
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

  /** Keeps a Response's output items by id and its conversation by response id. */
  async save(scope: string, responseId: string | null, input: unknown[], output: Json[]): Promise<void> {
    const writes: Promise<unknown>[] = [];
    for (const item of output) {
      if (typeof item.id !== 'string') continue;
      writes.push(this.redis.set(this.itemKey(scope, item.id), JSON.stringify(item), 'EX', this.ttlSeconds));
    }
    if (responseId) {
      const conversation = JSON.stringify([...input, ...output]);
      writes.push(this.redis.set(this.conversationKey(scope, responseId), conversation, 'EX', this.ttlSeconds));
    }
    await Promise.all(writes);
  }
}

interface Keeping {
  store: ResponsesItemStore;
  scope: string;
  body: Json;
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
    const input = typeof k.body.input === 'string' ? [{ role: 'user', content: k.body.input }] : k.body.input;
    await k.store.save(k.scope, responseId, Array.isArray(input) ? input : [], output);
  }

  /** The `response.failed` frame(s) ending a started stream the proxy itself ends with an error. */
  failureFrames(info: ErrorInfo): string[] {
    return this.tap?.failed?.({ code: info.code ?? 'server_error', message: info.message }) ?? [];
  }
}
