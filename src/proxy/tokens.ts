// Local token counting (js-tiktoken, o200k_base) for what the provider does not tell us: the prompt and the
// output seen when a call ends without the provider's usage (counted in a worker thread: tokenCountPool.ts),
// the mock provider's usage, and Anthropic's count_tokens for other providers. Counts are estimates for
// non-OpenAI tokenizers, which is why records built from them say usage_estimated. The proxy's reservation
// does not tokenize (promptSize.ts: promptTokenBound). The encoder (about 75 MB of ranks) is built on first use.
import { Tiktoken } from 'js-tiktoken/lite';
import o200kBase from 'js-tiktoken/ranks/o200k_base';
import { type PromptShape, promptSize } from './promptSize.js';

let encoder: Tiktoken | null = null;

/**
 * Apps resend the same system prompt and history on every turn, so counts are memoised per text. The memo
 * is bounded by total characters (FIFO eviction).
 */
const MEMO_MAX_CHARS = 8 * 1024 * 1024;
const memo = new Map<string, number>();
let memoChars = 0;
/**
 * BPE in JavaScript costs about 1.5 ms per thousand tokens of one event loop shared by every call in
 * flight; past this size a text is estimated at 4 characters per token instead (a guard's reservation
 * settles to the provider's real count anyway).
 */
const MAX_EXACT_TEXT = 32 * 1024;
const CHARS_PER_TOKEN = 4;
/**
 * Characters one prompt count may BPE-encode in all (memo hits are free): a prompt of 20,000 short new
 * pieces (a completions `prompt` list, many messages) held the event loop ~300 ms piece by piece. Past it,
 * the rest is estimated like a long text. Reset by countPromptTokens around each count (synchronous).
 */
const MAX_EXACT_CHARS_PER_PROMPT = 64 * 1024;
let exactCharsLeft = Number.POSITIVE_INFINITY;

/**
 * js-tiktoken's BPE costs the square of a piece's length, and a piece is a run of letters, of symbols or of
 * whitespace: 1,000 repeated letters took 0.1 s, 4,000 spaces 2.5 s, 32,000 letters over 2 minutes of one
 * event loop. Runs longer than 64 characters are therefore estimated at one token per 4 UTF-8 bytes (more
 * than BPE gives them: 8 repeated letters are one token) and only the rest is encoded.
 */
const LONG_RUN = /\S{65}|\s{65}/;
const LONG_RUNS = /\S{65,}|\s{65,}/g;

function encodedLength(text: string): number {
  encoder ??= new Tiktoken(o200kBase);
  // Special-token text in a prompt is plain data, never a control token.
  if (!LONG_RUN.test(text)) return encoder.encode(text, [], []).length;
  let estimated = 0;
  const rest = text.replace(LONG_RUNS, (run) => {
    estimated += Math.ceil(Buffer.byteLength(run) / 4);
    return ' ';
  });
  return (rest.trim() ? encoder.encode(rest, [], []).length : 0) + estimated;
}

export function countTextTokens(text: string): number {
  if (!text) return 0;
  if (text.length > MAX_EXACT_TEXT) return Math.ceil(text.length / CHARS_PER_TOKEN);
  const known = memo.get(text);
  if (known !== undefined) return known;
  if (text.length > exactCharsLeft) return Math.ceil(text.length / CHARS_PER_TOKEN);
  exactCharsLeft -= text.length;
  const count = encodedLength(text);
  memo.set(text, count);
  memoChars += text.length;
  for (const oldest of memo.keys()) {
    if (memoChars <= MEMO_MAX_CHARS) break;
    memo.delete(oldest);
    memoChars -= oldest.length;
  }
  return count;
}

/**
 * The longest prefix of `text` (cut on token boundaries) that countTextTokens counts as at most `maxTokens`
 * tokens: what a provider honouring `max_tokens` would have produced. Bounded work whatever the text's size.
 */
export function truncateToTokens(text: string, maxTokens: number): { text: string; truncated: boolean } {
  if (countTextTokens(text) <= maxTokens) return { text, truncated: false };
  const whole = (cut: string) => (/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut);
  // Past MAX_EXACT_TEXT a text counts as length / CHARS_PER_TOKEN.
  if (maxTokens * CHARS_PER_TOKEN > MAX_EXACT_TEXT) {
    return { text: whole(text.slice(0, maxTokens * CHARS_PER_TOKEN)), truncated: true };
  }
  // Tokens longer than 16 characters are rare: a head that holds fewer than maxTokens of them is returned
  // whole (still within the limit, only shorter than it could be), and encoding stays proportional to it.
  const head = whole(text.slice(0, Math.min(MAX_EXACT_TEXT, maxTokens * 16)));
  if (LONG_RUN.test(head)) {
    // No token holds less than one UTF-8 byte, and estimated runs count fewer tokens than bytes: a prefix of
    // at most maxTokens bytes always fits (shorter than it could be; such texts are contrived).
    let end = Math.min(head.length, maxTokens);
    while (end > 0 && Buffer.byteLength(head.slice(0, end)) > maxTokens) end = Math.floor(end / 2);
    return { text: whole(head.slice(0, end)), truncated: true };
  }
  encoder ??= new Tiktoken(o200kBase);
  const tokens = encoder.encode(head, [], []);
  if (tokens.length <= maxTokens) return { text: head, truncated: true };
  // Decoding a prefix may end inside a character (U+FFFD) or re-encode differently: step back until it fits.
  for (let keep = maxTokens; keep > 0; keep--) {
    const cut = encoder.decode(tokens.slice(0, keep)).replace(/\uFFFD+$/, '');
    if (countTextTokens(cut) <= maxTokens) return { text: cut, truncated: true };
  }
  return { text: '', truncated: true };
}

/** Input tokens of a request body in its client wire format. */
/**
 * What a count made on the event loop (the mock provider's usage, its count_tokens) may BPE-encode: 8 KiB
 * holds it to a few ms; the worker thread's counts take MAX_EXACT_CHARS_PER_PROMPT. A fuzzed embeddings
 * call of 15,000 short inputs held the loop 320 ms on a loaded machine at 64 KiB.
 */
export const EVENT_LOOP_EXACT_CHARS = 8 * 1024;

export function countPromptTokens(
  shape: PromptShape,
  body: Record<string, unknown>,
  exactChars = MAX_EXACT_CHARS_PER_PROMPT,
): number {
  exactCharsLeft = exactChars;
  try {
    return promptSize(shape, body, countTextTokens);
  } finally {
    exactCharsLeft = Number.POSITIVE_INFINITY;
  }
}
