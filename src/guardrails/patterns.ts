// Built-in content patterns for guardrails. Each is a global regex plus, where a regex alone would match
// look-alikes, a validator (Luhn for cards, the address parser for IPv6, digit counts for phones). Lookarounds
// keep a match from starting or ending inside a longer run (a card number inside a 25-digit id, an IPv4
// address inside the version string 1.2.3.4.5).
import { isIPv6 } from 'node:net';

export interface ContentPattern {
  name: string;
  regex: RegExp;
  /** What a masked match becomes upstream and in stored logs. */
  token: string;
  /** A regex hit counts only when this accepts it. */
  validate?: (match: string) => boolean;
}

/** The Luhn checksum every payment card number satisfies (and 9 in 10 random digit strings fail). */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

const digitsOf = (text: string) => text.replace(/\D/g, '');

function cardNumber(match: string): boolean {
  const digits = digitsOf(match);
  // One separator style throughout (`4111 1111 1111 1111` or `4111-…`), never mixed like a date-time run.
  const separators = new Set(match.replace(/\d/g, ''));
  return digits.length >= 13 && digits.length <= 19 && separators.size <= 1 && luhnValid(digits);
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';

export const BUILT_IN_PATTERNS: readonly ContentPattern[] = [
  {
    name: 'aws_access_key',
    regex: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g,
    token: '[AWS_ACCESS_KEY_REDACTED]',
  },
  {
    name: 'github_token',
    regex: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g,
    token: '[GITHUB_TOKEN_REDACTED]',
  },
  {
    // OpenAI (`sk-…`, `sk-proj-…`), Anthropic (`sk-ant-…`) and Spendhouse/LiteLLM virtual keys share the shape.
    name: 'openai_key',
    regex: /(?<![\w-])sk-[A-Za-z0-9_-]{20,}/g,
    token: '[OPENAI_KEY_REDACTED]',
  },
  {
    name: 'email',
    regex: /(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b/g,
    token: '[EMAIL_REDACTED]',
  },
  {
    name: 'credit_card',
    regex: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g,
    token: '[CREDIT_CARD_REDACTED]',
    validate: cardNumber,
  },
  {
    // Dashed form only: nine bare digits are far more often an id than an SSN. Never-issued areas excluded.
    name: 'us_ssn',
    regex: /(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])/g,
    token: '[US_SSN_REDACTED]',
  },
  {
    // North American numbers with separators (`(415) 555-0132`, `415-555-0132`, `+1 415 555 0132`) and
    // international numbers written with a leading `+` (8–15 digits, E.164).
    name: 'phone',
    regex:
      /(?<![\w.+-])(?:(?:\+?1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}|\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5})(?![\w-]|\.\d)/g,
    token: '[PHONE_REDACTED]',
    validate: (match) => {
      const n = digitsOf(match).length;
      return n >= 8 && n <= 15;
    },
  },
  {
    name: 'ipv4',
    regex: new RegExp(`(?<![\\d.])${OCTET}(?:\\.${OCTET}){3}(?!\\.?\\d)`, 'g'),
    token: '[IPV4_REDACTED]',
  },
  {
    // Candidates are hex groups with colons; the address parser decides (times like 12:30:45 and MAC
    // addresses are not addresses).
    name: 'ipv6',
    regex: /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:.])/g,
    token: '[IPV6_REDACTED]',
    validate: (match) => /[0-9A-Fa-f]/.test(match) && isIPv6(match),
  },
];

export const BUILT_IN_NAMES = BUILT_IN_PATTERNS.map((p) => p.name);

/** Every match the pattern accepts (validator applied). */
export function* acceptedMatches(pattern: ContentPattern, text: string): Generator<RegExpMatchArray> {
  for (const match of text.matchAll(pattern.regex)) {
    if (!pattern.validate || pattern.validate(match[0])) yield match;
  }
}
