/**
 * Check digits that separate real payment cards and IBANs from random digit runs of the same
 * shape (order ids, timestamps, trace ids). Both take the candidate as printed, separators and all.
 */

/** Luhn (ISO/IEC 7812-1) over the digits of `text`, ignoring every other character. */
export function luhnValid(text: string): boolean {
  let sum = 0;
  let double = false;
  let digits = 0;
  for (let i = text.length - 1; i >= 0; i--) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) continue;
    digits++;
    let d = c;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits > 0 && sum % 10 === 0;
}

/**
 * Whether a card number's length fits its issuer range (ISO/IEC 7812 IINs of the networks in
 * wide use). Luhn alone passes one random number in ten; most of those fail here.
 */
export function cardLengthFits(digits: string): boolean {
  const n = digits.length;
  const digit = (i: number): number => digits.charCodeAt(i) - 48;
  const p2 = digit(0) * 10 + digit(1);
  const p3 = p2 * 10 + digit(2);
  const p4 = p3 * 10 + digit(3);
  if (digits.charCodeAt(0) === 52 /* 4: Visa */) return n === 13 || n === 16 || n === 19;
  if (p2 === 34 || p2 === 37) return n === 15; // American Express
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16; // Mastercard
  if (p4 >= 2200 && p4 <= 2204) return n >= 16; // Mir
  if (p2 === 36 || p2 === 38 || p2 === 39 || (p3 >= 300 && p3 <= 305) || p3 === 309) return n >= 14; // Diners
  if (p4 >= 3528 && p4 <= 3589) return n >= 16; // JCB
  if (p2 === 50 || (p2 >= 56 && p2 <= 69)) return n >= 13; // Maestro, Discover, UnionPay, RuPay
  return false;
}

/**
 * IBAN lengths by country, from the SWIFT IBAN registry. A candidate from a country that is not
 * listed is rejected: checking only mod-97 would accept one random string in 97.
 */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28,
  CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18,
  FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22,
  IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20,
  LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18,
  NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31,
  SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29,
  VA: 22, VG: 24, XK: 20, YE: 30,
};

/**
 * The number of characters of `candidate` (a printed IBAN, possibly with single spaces between
 * groups and possibly followed by more text the pattern swallowed) that form a valid IBAN, or 0.
 * The registry length decides where the IBAN ends, so trailing words in capitals are not taken.
 */
export function ibanLength(candidate: string): number {
  const expected = IBAN_LENGTHS[candidate.slice(0, 2)];
  if (expected === undefined) return 0;
  let remainder = 0;
  let taken = 0;
  let end = 0;
  // mod-97 over the rearranged IBAN (BBAN first, then country and check digits), letters as 10..35,
  // computed on the fly so no rearranged copy is built.
  const feed = (code: number): void => {
    const value = code <= 57 ? code - 48 : code - 55;
    remainder = value > 9 ? (remainder * 100 + value) % 97 : (remainder * 10 + value) % 97;
  };
  for (let i = 4; i < candidate.length && taken < expected - 4; i++) {
    const code = candidate.charCodeAt(i);
    if (code === 32) continue;
    feed(code);
    taken++;
    end = i + 1;
  }
  if (taken !== expected - 4) return 0;
  for (let i = 0; i < 4; i++) feed(candidate.charCodeAt(i));
  return remainder === 1 ? end : 0;
}
