/**
 * Decimals written as text, read byte by byte: the UTF-8 bytes of a value such as `12.50` become an
 * integer count of `10^-scale`, written as Arrow's little-endian two's-complement 128-bit decimal.
 * Reading the bytes in place spares a string per value.
 */
import type { DecimalFault } from '../core/tables.js';

const TWO_POW_32 = 2 ** 32;
/** 10^n for every scale a decimal cast may declare. */
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, n) => 10 ** n);

/**
 * Parses the UTF-8 bytes of a decimal into an integer count of `10^-scale` (cents, for scale 2),
 * or names why it cannot: an optional sign, at most `integerDigits` significant integer digits, an
 * optional point and at most `scale` decimals (trailing zeros aside), blanks around it ignored.
 * `12,50`, `N/A`, `error` and `''` are rejected rather than guessed at.
 */
export function parseDecimal(bytes: Uint8Array, start: number, end: number, scale: number, integerDigits: number): number | DecimalFault {
  while (start < end && (bytes[start] === 0x20 || bytes[start] === 0x09)) start++;
  while (end > start && (bytes[end - 1] === 0x20 || bytes[end - 1] === 0x09)) end--;
  if (start === end) return 'blank';
  let i = start;
  const negative = bytes[i] === 0x2d;
  if (negative || bytes[i] === 0x2b) i++;
  const digitsStart = i;
  let units = 0;
  let intDigits = 0;
  while (i < end && bytes[i] >= 0x30 && bytes[i] <= 0x39) {
    units = units * 10 + (bytes[i] - 0x30);
    intDigits++;
    i++;
  }
  let fraction = 0;
  let fracDigits = 0;
  if (i < end && bytes[i] === 0x2e) {
    i++;
    while (i < end && bytes[i] >= 0x30 && bytes[i] <= 0x39) {
      if (fracDigits < scale) fraction = fraction * 10 + (bytes[i] - 0x30);
      else if (bytes[i] !== 0x30) return 'too_precise';
      fracDigits++;
      i++;
    }
  }
  if (i !== end || intDigits + fracDigits === 0) return 'not_numeric';
  if (significantDigits(bytes, digitsStart, intDigits) > integerDigits) return 'out_of_range';
  if (fracDigits < scale) fraction *= POWERS_OF_TEN[scale - fracDigits];
  const value = units * POWERS_OF_TEN[scale] + fraction;
  return negative ? -value : value;
}

/** Integer digits without leading zeros (`0012.5` has 2). */
function significantDigits(bytes: Uint8Array, start: number, intDigits: number): number {
  let i = start;
  let digits = intDigits;
  while (digits > 0 && bytes[i] === 0x30) {
    digits--;
    i++;
  }
  return digits;
}

/** Writes `cents` as a little-endian two's-complement 128-bit integer at word `w`. */
export function writeDecimal128(words: Uint32Array, w: number, cents: number): void {
  const magnitude = Math.abs(cents);
  const lo = magnitude % TWO_POW_32;
  const hi = Math.floor(magnitude / TWO_POW_32);
  if (cents >= 0) {
    words[w] = lo;
    words[w + 1] = hi;
    return;
  }
  words[w] = (TWO_POW_32 - lo) % TWO_POW_32;
  words[w + 1] = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  words[w + 2] = 0xffffffff;
  words[w + 3] = 0xffffffff;
}
