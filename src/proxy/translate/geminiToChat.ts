// Gemini `generateContent` answer → OpenAI chat completion (JSON and `alt=sse` stream chunks). One choice
// per candidate; text parts → content, thought parts → reasoning_content, functionCall parts → tool_calls
// (Gemini sends each call whole, so a stream carries it in one chunk). Usage comes from `usageMetadata`.

import { count, openAIUsageBody, type TokenUsage, ZERO_USAGE } from '../../pricing/usage.js';
import { isRecord, type JsonResult, type StreamTap, TextSink } from '../exchange/types.js';
import { eventJson, OPENAI_DONE_FRAME, openAIFrame, type SseEvent } from '../sse.js';
import { geminiToolCallId } from './chatToGemini.js';

type Json = Record<string, unknown>;

/** The tokens of one modality (`AUDIO`, `IMAGE`) in a Gemini `*TokensDetails` list of ModalityTokenCount. */
function modalityTokens(details: unknown, modality: string): number {
  if (!Array.isArray(details)) return 0;
  let total = 0;
  for (const entry of details) if (isRecord(entry) && entry.modality === modality) total += count(entry, 'tokenCount');
  return total;
}

/**
 * Gemini's `usageMetadata`: `promptTokenCount` includes `cachedContentTokenCount`; `candidatesTokenCount`
 * (all candidates) excludes `thoughtsTokenCount`; `toolUsePromptTokenCount` (tool-use prompts such as
 * search results) is input outside promptTokenCount. `totalTokenCount` is the sum of the four. Audio and
 * image tokens are the AUDIO / IMAGE entries of `promptTokensDetails` and `candidatesTokensDetails`.
 */
export function usageFromGemini(meta: unknown): TokenUsage | null {
  if (!isRecord(meta)) return null;
  const thoughts = count(meta, 'thoughtsTokenCount');
  return {
    ...ZERO_USAGE,
    promptTokens: count(meta, 'promptTokenCount') + count(meta, 'toolUsePromptTokenCount'),
    completionTokens: count(meta, 'candidatesTokenCount') + thoughts,
    cachedTokens: count(meta, 'cachedContentTokenCount'),
    reasoningTokens: thoughts,
    audioInputTokens: modalityTokens(meta.promptTokensDetails, 'AUDIO'),
    imageInputTokens: modalityTokens(meta.promptTokensDetails, 'IMAGE'),
    audioOutputTokens: modalityTokens(meta.candidatesTokensDetails, 'AUDIO'),
    imageOutputTokens: modalityTokens(meta.candidatesTokensDetails, 'IMAGE'),
  };
}

const FILTERED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY']);

function finishReason(reason: unknown, calledTools: boolean): string | null {
  if (typeof reason !== 'string' || reason === 'FINISH_REASON_UNSPECIFIED') return null;
  if (reason === 'MAX_TOKENS') return 'length';
  if (FILTERED.has(reason)) return 'content_filter';
  return calledTools ? 'tool_calls' : 'stop';
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const partsOf = (candidate: Json): unknown[] =>
  isRecord(candidate.content) && Array.isArray(candidate.content.parts) ? candidate.content.parts : [];

interface CandidateOutput {
  content: string[];
  reasoning: string[];
  toolCalls: Json[];
}

function readParts(parts: unknown[], sink: TextSink): CandidateOutput {
  const out: CandidateOutput = { content: [], reasoning: [], toolCalls: [] };
  for (const part of parts) {
    if (!isRecord(part)) continue;
    if (typeof part.text === 'string') {
      (part.thought === true ? out.reasoning : out.content).push(part.text);
      sink.add(part.text);
    } else if (isRecord(part.functionCall) && typeof part.functionCall.name === 'string') {
      const args = JSON.stringify(part.functionCall.args ?? {});
      sink.add(args);
      out.toolCalls.push({
        id: geminiToolCallId(part.thoughtSignature),
        type: 'function',
        function: { name: part.functionCall.name, arguments: args },
      });
    }
  }
  return out;
}

/** A blocked prompt has no candidates, only `promptFeedback.blockReason`: one empty, filtered choice. */
function candidatesOf(json: Json): Json[] {
  const candidates = Array.isArray(json.candidates) ? json.candidates.filter(isRecord) : [];
  if (candidates.length || !isRecord(json.promptFeedback)) return candidates;
  return [{ index: 0, finishReason: 'PROHIBITED_CONTENT' }];
}

const responseIdOf = (json: Json): string | null => (typeof json.responseId === 'string' ? json.responseId : null);

export function geminiToChatCompletion(json: Json, model: string): JsonResult {
  const sink = new TextSink();
  const usage = usageFromGemini(json.usageMetadata);
  const responseId = responseIdOf(json);
  const choices = candidatesOf(json).map((candidate, i) => {
    const out = readParts(partsOf(candidate), sink);
    return {
      index: typeof candidate.index === 'number' ? candidate.index : i,
      message: {
        role: 'assistant',
        content: out.content.length ? out.content.join('') : null,
        ...(out.reasoning.length ? { reasoning_content: out.reasoning.join('') } : {}),
        ...(out.toolCalls.length ? { tool_calls: out.toolCalls } : {}),
      },
      logprobs: null,
      finish_reason: finishReason(candidate.finishReason, out.toolCalls.length > 0) ?? 'stop',
    };
  });
  const completion = {
    id: responseId,
    object: 'chat.completion',
    created: nowSeconds(),
    model: typeof json.modelVersion === 'string' ? json.modelVersion : model,
    choices,
    usage: openAIUsageBody(usage ?? ZERO_USAGE),
  };
  return { body: JSON.stringify(completion), usage, responseId, text: sink.toString() };
}

/** Gemini's error envelope: `{"error":{"code":429,"message":"…","status":"RESOURCE_EXHAUSTED"}}`. */
export function geminiErrorInfo(json: unknown): { message: string | null; code: string | null } {
  const error = isRecord(json) && isRecord(json.error) ? json.error : {};
  return {
    message: typeof error.message === 'string' ? error.message : null,
    code: typeof error.status === 'string' ? error.status : null,
  };
}

/** Translates Gemini stream chunks into OpenAI chat chunks as they arrive. */
export function chatStreamFromGemini(model: string, clientWantsUsage: boolean): StreamTap {
  const sink = new TextSink();
  let usage: TokenUsage | null = null;
  let finished = false;
  let responseId: string | null = null;
  let base: Json | null = null;
  const started = new Set<number>();
  const toolCounts = new Map<number, number>();

  function translate(json: Json): string[] {
    responseId ??= responseIdOf(json);
    base ??= {
      id: responseId,
      object: 'chat.completion.chunk',
      created: nowSeconds(),
      model: typeof json.modelVersion === 'string' ? json.modelVersion : model,
    };
    const reported = usageFromGemini(json.usageMetadata);
    if (reported) usage = reported;
    const frames: string[] = [];
    candidatesOf(json).forEach((candidate, i) => {
      const index = typeof candidate.index === 'number' ? candidate.index : i;
      const out = readParts(partsOf(candidate), sink);
      const delta: Json = {};
      if (!started.has(index)) {
        started.add(index);
        Object.assign(delta, { role: 'assistant', content: '' });
      }
      if (out.content.length) delta.content = out.content.join('');
      if (out.reasoning.length) delta.reasoning_content = out.reasoning.join('');
      if (out.toolCalls.length) {
        const first = toolCounts.get(index) ?? 0;
        delta.tool_calls = out.toolCalls.map((call, k) => ({ index: first + k, ...call }));
        toolCounts.set(index, first + out.toolCalls.length);
      }
      const finish = finishReason(candidate.finishReason, (toolCounts.get(index) ?? 0) > 0);
      if (finish) finished = true;
      if (Object.keys(delta).length || finish) {
        frames.push(openAIFrame({ ...base, choices: [{ index, delta, logprobs: null, finish_reason: finish }] }));
      }
    });
    return frames;
  }

  return {
    onEvent(event: SseEvent) {
      const json = eventJson(event);
      if (!json) return [];
      if (isRecord(json.error)) {
        const info = geminiErrorInfo(json);
        return [openAIFrame({ error: { message: info.message, type: 'api_error', code: info.code, param: null } })];
      }
      return translate(json);
    },
    end() {
      if (!finished) return [];
      const usageFrame = openAIFrame({ ...base, choices: [], usage: openAIUsageBody(usage ?? ZERO_USAGE) });
      return clientWantsUsage ? [usageFrame, OPENAI_DONE_FRAME] : [OPENAI_DONE_FRAME];
    },
    usage: () => ({ usage, complete: finished && usage !== null }),
    responseId: () => responseId,
    text: () => sink.toString(),
  };
}
