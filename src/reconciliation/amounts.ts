// The providers' money, turned into integer nano-USD once, at the edge. OpenAI reports `amount.value` as a
// JSON number of USD; Anthropic reports `amount` as a decimal string of cents ("123.45" = $1.2345). Both
// are hostile input: anything that is not a finite decimal of sane length, or not USD, is refused by name
// (the importer skips the line and says so) — never NaN, never a float sum.
import { usdToNano } from '../spendRecord.js';

/** More than $10^9 a day on one line item is not a bill, it is a broken report. */
const MAX_ABS_NANO = 10n ** 18n;
const CENTS_TEXT = /^(-?)(\d{1,20})(?:\.(\d{1,20}))?$/;

export class AmountError extends Error {}

function checked(nano: number, shown: string): number {
  if (BigInt(Math.abs(nano)) > MAX_ABS_NANO) throw new AmountError(`amount out of range: ${shown}`);
  return nano;
}

function toNano(usdText: string, shown: string): number {
  try {
    return checked(usdToNano(usdText), shown);
  } catch (err) {
    if (err instanceof AmountError) throw err;
    throw new AmountError(`not a decimal amount: ${shown}`);
  }
}

const show = (value: unknown) => (JSON.stringify(value) ?? String(value)).slice(0, 40);

/** OpenAI: `{ "value": 0.06, "currency": "usd" }` → nano-USD. */
export function openAiAmountNano(value: unknown, currency: unknown): number {
  if (typeof currency !== 'string' || currency.toLowerCase() !== 'usd') {
    throw new AmountError(`currency ${show(currency)} is not usd`);
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) >= 1e9) {
    throw new AmountError(`not a finite USD amount: ${show(value)}`);
  }
  // usdToNano reads a number through toFixed(12): the shortest decimal of the double, never a binary sum.
  return toNano(value.toFixed(12), show(value));
}

/** Anthropic: `"amount": "123.45", "currency": "USD"` (cents as a decimal string) → nano-USD. */
export function anthropicAmountNano(amount: unknown, currency: unknown): number {
  if (typeof currency !== 'string' || currency.toUpperCase() !== 'USD') {
    throw new AmountError(`currency ${show(currency)} is not USD`);
  }
  const match = typeof amount === 'string' ? CENTS_TEXT.exec(amount.trim()) : null;
  if (!match) throw new AmountError(`not a decimal string of cents: ${show(amount)}`);
  const [, sign = '', whole = '0', frac = ''] = match;
  // Cents → dollars is moving the decimal point two places: exact, no arithmetic.
  const padded = whole.padStart(3, '0');
  return toNano(`${sign}${padded.slice(0, -2)}.${padded.slice(-2)}${frac}`, show(amount));
}
