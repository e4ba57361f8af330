// Reading the parts of an OpenAI chat request that every chat → provider translation needs the same way: an
// `image_url` part's URL (and what a base64 `data:` URL holds), and an assistant tool call's function name and
// parsed arguments. Each translation decides what its provider accepts; the 400s here name the same fields.
import { badRequest } from '../../errors.js';
import { isRecord } from '../exchange/types.js';

/** The URL of an `image_url` part (`"…"` or `{url}`); a 400 naming `<at>.image_url.url` otherwise. */
export function imageUrlOf(part: Record<string, unknown>, at: string): string {
  const image = part.image_url;
  const url = typeof image === 'string' ? image : isRecord(image) ? image.url : undefined;
  if (typeof url !== 'string') throw badRequest(`${at}.image_url.url`, 'must be a string');
  return url;
}

/** The media type and base64 data of a `data:<type>;base64,<data>` URL; null for any other URL. */
export function parseDataUrl(url: string): { mediaType: string; data: string } | null {
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return data ? { mediaType: data[1] ?? '', data: data[2] ?? '' } : null;
}

/**
 * An assistant tool call (`{id, function: {name, arguments}}`): its id as sent, the function name, and the
 * arguments parsed from their JSON text (`{}` when empty). A 400 naming the field when the name is missing or
 * the arguments are not JSON.
 */
export function parseToolCall(call: unknown, at: string): { id: unknown; name: string; args: unknown } {
  const fn = isRecord(call) && isRecord(call.function) ? call.function : null;
  if (!fn || typeof fn.name !== 'string') throw badRequest(`${at}.function.name`, 'required');
  let args: unknown = {};
  try {
    args = typeof fn.arguments === 'string' && fn.arguments ? JSON.parse(fn.arguments) : {};
  } catch {
    throw badRequest(`${at}.function.arguments`, 'must be a JSON object');
  }
  return { id: (call as Record<string, unknown>).id, name: fn.name, args };
}
