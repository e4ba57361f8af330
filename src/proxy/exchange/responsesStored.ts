// GET /v1/responses/{id} (and /responses/{id}): a Response the proxy answered, rebuilt from its spend record
// when prompts and responses are stored (store_prompts_in_spend_logs). The record keeps the answer's text,
// not its items: the Response holds one output_text message with that text (tool-call arguments included as
// text), the call's model, status and exact token usage. A key sees its own calls only (the /spend/logs
// scope rules); an unknown id, another scope's call or a call stored without its answer is a 404 naming it.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Principal } from '../../auth/principal.js';
import { AppError } from '../../errors.js';
import { ZERO_USAGE } from '../../pricing/usage.js';
import { scopeFor } from '../../query/access.js';
import { findStoredResponse } from '../../query/logs/storedResponse.js';
import { responsesUsageBody } from '../translate/responsesUsage.js';

const paramsSchema = z.object({ id: z.string().min(1).max(256) });

export function storedResponseRoutes(
  app: FastifyInstance,
  authenticate: (request: FastifyRequest) => Promise<Principal>,
): void {
  const retrieve = async (request: FastifyRequest) => {
    const principal = await authenticate(request);
    const parsed = paramsSchema.safeParse(request.params);
    if (!parsed.success)
      throw new AppError('bad_request', 'response_id: expected 1 to 256 characters', { param: 'response_id' });
    const { id } = parsed.data;
    const found = await findStoredResponse(app.warehouse, id, 'responses', scopeFor(principal));
    if (!found?.text) {
      const why = found ? 'its answer was not stored (store_prompts_in_spend_logs is off)' : 'no such response here';
      throw new AppError('not_found', `response ${JSON.stringify(id).slice(0, 260)}: ${why}`, {
        param: 'response_id',
        type: 'invalid_request_error',
      });
    }
    const { row, text } = found;
    return {
      id,
      object: 'response',
      created_at: Math.floor(row.start_time_ms / 1000),
      status: row.status < 400 ? 'completed' : 'failed',
      error: null,
      incomplete_details: null,
      model: row.model,
      output: [
        {
          type: 'message',
          id: `msg_${row.request_id.replace(/-/g, '')}`,
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
        },
      ],
      usage: responsesUsageBody({
        ...ZERO_USAGE,
        promptTokens: row.prompt_tokens,
        completionTokens: row.completion_tokens,
        cachedTokens: row.cached_tokens,
        cacheWriteTokens: row.cache_write_tokens,
        reasoningTokens: row.reasoning_tokens,
      }),
      metadata: { spend_request_id: row.request_id },
    };
  };
  for (const prefix of ['', '/v1']) app.get(`${prefix}/responses/:id`, retrieve);
}
