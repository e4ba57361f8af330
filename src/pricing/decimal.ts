// Exact decimal arithmetic for prices. Prices arrive as JS numbers (YAML `0.000001`, genai-prices `2.5` per
// million tokens) or decimal strings (a record's `unit_prices`); the shortest decimal text of a number is the
// price the user wrote, so we parse that text into a BigInt mantissa and scale and never multiply binary
// floats (0.15 × 2950 / 1e6 is not 0.0004425 in floats).

/** value = units / 10^scale */
export interface Decimal {
  units: bigint;
  scale: number;
}

const DECIMAL_TEXT = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i;

/** A non-negative decimal from its text (`0.0000025`, `2.5e-7`); RangeError otherwise. */
export function decimalFromText(text: string): Decimal {
  const match = DECIMAL_TEXT.exec(text);
  if (!match) throw new RangeError(`not a non-negative decimal: ${text.slice(0, 40)}`);
  const [, whole = '0', frac = '', exponent = '0'] = match;
  let units = BigInt(whole + frac);
  let scale = frac.length - Number(exponent);
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { units, scale };
}

export function decimalFromNumber(value: number): Decimal {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`not a non-negative price: ${value}`);
  return decimalFromText(String(value));
}

/** The same amount per a larger unit: a per-million price divided by 10^6 is a per-token price. */
export function perUnitOf(price: Decimal, powerOfTen: number): Decimal {
  return { units: price.units, scale: price.scale + powerOfTen };
}

export function times(a: Decimal, b: Decimal): Decimal {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

export const ONE: Decimal = { units: 1n, scale: 0 };

export function isOne(d: Decimal): boolean {
  return d.units === 10n ** BigInt(d.scale);
}

const texts = new WeakMap<Decimal, string>();

/** Exact decimal text without exponent or trailing zeros: { units: 25n, scale: 7 } → "0.0000025". */
export function decimalText(d: Decimal): string {
  let text = texts.get(d);
  if (text === undefined) {
    const digits = d.units.toString().padStart(d.scale + 1, '0');
    const whole = digits.slice(0, digits.length - d.scale);
    const frac = digits.slice(digits.length - d.scale).replace(/0+$/, '');
    text = frac ? `${whole}.${frac}` : whole;
    texts.set(d, text);
  }
  return text;
}

export interface PricedQuantity {
  quantity: number;
  /** USD per unit of quantity. */
  price: Decimal;
}

const NANO_DIGITS = 9;

/**
 * Σ quantity × price × multiplier in integer nano-USD: summed exactly, multiplied exactly, and rounded half
 * up once at the end (the rule docs/pricing.md states, so anyone can recompute a record by hand).
 */
export function nanoUsd(terms: PricedQuantity[], multiplier: Decimal = ONE): number {
  const scale = Math.max(NANO_DIGITS, ...terms.map((t) => t.price.scale));
  let total = 0n;
  for (const { quantity, price } of terms) {
    if (quantity <= 0) continue;
    total += BigInt(quantity) * price.units * 10n ** BigInt(scale - price.scale);
  }
  return roundToNano({ units: total * multiplier.units, scale: scale + multiplier.scale });
}

/** An exact USD amount in nano-USD, half up; RangeError past the largest safe integer. */
export function roundToNano(usd: Decimal): number {
  let nano: bigint;
  if (usd.scale <= NANO_DIGITS) {
    nano = usd.units * 10n ** BigInt(NANO_DIGITS - usd.scale);
  } else {
    const divisor = 10n ** BigInt(usd.scale - NANO_DIGITS);
    nano = (usd.units + divisor / 2n) / divisor;
  }
  if (nano > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('cost out of range');
  return Number(nano);
}
