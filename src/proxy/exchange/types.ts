// An exchange is one (client wire format × provider protocol) pairing: it prepares the upstream body,
// sends it, and turns the provider's answer (JSON or SSE events) into the client's format while tapping
// usage, the response id and the output text. Passthrough pairings forward the provider's bytes unchanged.

import type { TokenUsage } from '../../pricing/usage.js';
import type { SseEvent } from '../sse.js';
import type { UpstreamResponse } from '../upstream.js';

export type ClientFormat = 'openai' | 'anthropic';

export interface JsonResult {
  /** The response body for the client, serialized. */
  body: string;
  usage: TokenUsage | null;
  responseId: string | null;
  text: string;
  /** A translated Response's output items, kept for later `item_reference`s (responsesItemStore.ts). */
  outputItems?: Record<string, unknown>[];
}

export interface StreamTap {
  /** The client frames for one upstream event (none, to drop it). */
  onEvent(event: SseEvent): string[];
  /** Frames to write after the upstream stream ended normally. */
  end(): string[];
  /** Usage the provider reported so far, and whether the report is final. */
  usage(): { usage: TokenUsage | null; complete: boolean };
  responseId(): string | null;
  /** Output text seen (content, tool-call arguments), for estimates and stored responses. */
  text(): string;
  /** A translated Response stream's output items once it completed (null before, or when it failed). */
  outputItems?(): Record<string, unknown>[] | null;
  /** Responses streams: the frames ending the stream when the proxy ends it with an error (`response.failed`). */
  failed?(error: { code: string; message: string }): string[];
}

export interface Exchange {
  /** `mock` when answered in-process (mock provider or a `mock_response` body field). */
  provider: string;
  /** `abort` is the call's controller: aborted when the client disconnects. */
  send(abort: AbortController): Promise<UpstreamResponse>;
  fromJson(raw: string, json: Record<string, unknown>): JsonResult;
  streamTap(): StreamTap;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Bounded accumulator for output text: estimates need it, memory must not grow with a runaway stream. */
export class TextSink {
  static readonly LIMIT = 1_000_000;
  private parts: string[] = [];
  private size = 0;

  add(text: unknown): void {
    if (typeof text !== 'string' || !text || this.size >= TextSink.LIMIT) return;
    this.parts.push(text);
    this.size += text.length;
  }

  toString(): string {
    return this.parts.join('');
  }
}
