// The one rule for ids, aliases, tags, model names and metadata keys a client writes through the API: the
// characters the spend pipeline would replace when storing a name (storableName in src/spendRecord.ts —
// C0/C1 controls incl. NUL, ESC and DEL, the bidi embedding/override/isolate controls U+202A–U+202E and
// U+2066–U+2069, lone UTF-16 surrogates) are refused with a 400 naming the field, instead of being stored
// as sent (a NUL truncates in C tools, ESC drives the terminal of whoever reads a log, U+202E makes one id
// display as another) or silently differing from the id the spend records carry.
// Zero-width characters (U+200B–U+200D, U+2060, U+FEFF) are allowed: ZWJ/ZWNJ belong to emoji sequences and
// to several scripts, and none of them changes how the text around it is displayed.
import { z } from 'zod';
import { storableName } from '../spendRecord.js';

const codePoint = (ch: string) => `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;

/** Why `value` is not a storable name, or null when it is. */
export function nameProblem(value: string): string | null {
  if (storableName(value) === value) return null;
  for (const ch of value) {
    if (storableName(ch) === ch) continue;
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0xd800 && cp <= 0xdfff) return `must be valid Unicode (found a lone surrogate ${codePoint(ch)})`;
    if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
      return `must not contain bidi control characters (found ${codePoint(ch)})`;
    return `must not contain control characters (found ${codePoint(ch)})`;
  }
  return null;
}

const loneSurrogate = (value: string) => {
  for (const ch of value) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0xd800 && cp <= 0xdfff) return ch;
  }
  return null;
};

/**
 * Text that looks an entry up (or refers to one): any characters, so entries written before the name rule
 * can still be found and removed — but well-formed Unicode, which everything stored is (ClickHouse refuses
 * a lone surrogate; without this check the refusal came back as a 400 naming no field).
 */
export const lookupText = () =>
  z.string().superRefine((value, ctx) => {
    if (value.isWellFormed()) return;
    const ch = loneSurrogate(value) ?? '\ufffd';
    ctx.addIssue({ code: 'custom', message: `must be valid Unicode (found a lone surrogate ${codePoint(ch)})` });
  });

/** A non-empty name of at most `max` characters that obeys the rule above. */
export const nameText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .superRefine((value, ctx) => {
      const problem = nameProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
