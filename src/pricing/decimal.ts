// Exact decimal arithmetic for prices. Prices arrive as JS numbers (YAML `0.000001`, genai-prices `2.5` per
// million tokens); their shortest decimal text is the price the user wrote, so we parse that text into a
// BigInt mantissa and scale and never multiply binary floats (0.15 × 2950 / 1e6 is not 0.0004425 in floats).

/** value = units / 10^scale */
export interface Decimal {
  units: bigint;
  scale: number;
}

const DECIMAL_TEXT = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i;

export function decimalFromNumber(value: number): Decimal {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`not a non-negative price: ${value}`);
  const match = DECIMAL_TEXT.exec(String(value));
  if (!match) throw new RangeError(`not a decimal price: ${value}`);
  const [, whole = '0', frac = '', exponent = '0'] = match;
  let units = BigInt(whole + frac);
  let scale = frac.length - Number(exponent);
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { units, scale };
}

/** The same amount per a larger unit: a per-million price divided by 10^6 is a per-token price. */
export function perUnitOf(price: Decimal, powerOfTen: number): Decimal {
  return { units: price.units, scale: price.scale + powerOfTen };
}

export interface PricedQuantity {
  quantity: number;
  /** USD per unit of quantity. */
  price: Decimal;
}

const NANO_DIGITS = 9;

/** Σ quantity × price in integer nano-USD, summed exactly and rounded half up once at the end. */
export function nanoUsd(terms: PricedQuantity[]): number {
  const scale = Math.max(NANO_DIGITS, ...terms.map((t) => t.price.scale));
  let total = 0n;
  for (const { quantity, price } of terms) {
    if (quantity <= 0) continue;
    total += BigInt(quantity) * price.units * 10n ** BigInt(scale - price.scale);
  }
  const divisor = 10n ** BigInt(scale - NANO_DIGITS);
  const nano = (total + divisor / 2n) / divisor;
  if (nano > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('cost out of range');
  return Number(nano);
}
