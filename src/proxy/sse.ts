// Server-sent events: an incremental parser for upstream streams (chunks may split events and UTF-8
// characters anywhere) and the frame writers for both wire formats.

export interface SseEvent {
  /** The `event:` field (Anthropic names every event; OpenAI sends none). */
  event: string | null;
  /** The `data:` lines joined by newlines. */
  data: string;
  /** The event exactly as received, with its terminating blank line, for byte-faithful passthrough. */
  raw: string;
}

export class SseParser {
  private readonly decoder = new TextDecoder();
  private buffer = '';

  /** Feeds a chunk and returns the events it completed. */
  push(chunk: Uint8Array | string): SseEvent[] {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const events: SseEvent[] = [];
    for (;;) {
      const match = /\r?\n\r?\n/.exec(this.buffer);
      if (!match) break;
      const end = match.index + match[0].length;
      const raw = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end);
      const event = parseEvent(raw);
      if (event) events.push(event);
    }
    return events;
  }

  /** Whatever the stream ended with that was not a complete event (a provider that omits the final blank line). */
  finish(): SseEvent[] {
    const rest = this.buffer + this.decoder.decode();
    this.buffer = '';
    const event = rest.trim() ? parseEvent(`${rest.replace(/\s+$/, '')}\n\n`) : null;
    return event ? [event] : [];
  }
}

function parseEvent(raw: string): SseEvent | null {
  let event: string | null = null;
  const data: string[] = [];
  for (const line of raw.split(/\r?\n/)) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (event === null && data.length === 0) return null;
  return { event, data: data.join('\n'), raw };
}

/** An OpenAI stream frame (`data: {...}`). */
export function openAIFrame(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

export const OPENAI_DONE_FRAME = 'data: [DONE]\n\n';

/** An Anthropic stream frame; the event name repeats the payload's `type`, as Anthropic sends it. */
export function anthropicFrame(payload: { type: string; [field: string]: unknown }): string {
  return `event: ${payload.type}\ndata: ${JSON.stringify(payload)}\n\n`;
}

/** Parses an event's JSON data; null for `[DONE]`, keep-alives and anything that is not a JSON object. */
export function eventJson(event: SseEvent): Record<string, unknown> | null {
  if (!event.data || event.data === '[DONE]') return null;
  try {
    const value: unknown = JSON.parse(event.data);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
