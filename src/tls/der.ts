// Minimal DER (ASN.1 Distinguished Encoding Rules) writer: just the types one
// self-signed X.509 certificate needs. Each function returns one encoded element.

const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Tag-length-value with an arbitrary (single-byte) tag. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export function sequence(...items: Uint8Array[]): Buffer {
  return tlv(TAG.sequence, Buffer.concat(items));
}

export function set(...items: Uint8Array[]): Buffer {
  return tlv(TAG.set, Buffer.concat(items));
}

export function boolean(value: boolean): Buffer {
  return tlv(TAG.boolean, Buffer.from([value ? 0xff : 0x00]));
}

/** A non-negative integer from its big-endian magnitude bytes. */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start += 1;
  const trimmed = Buffer.from(magnitude.subarray(start));
  const content = trimmed.length === 0 ? Buffer.from([0]) : trimmed;
  // DER integers are two's complement: a set high bit needs a leading zero to stay positive.
  const first = content[0] ?? 0;
  return tlv(TAG.integer, first >= 0x80 ? Buffer.concat([Buffer.from([0]), content]) : content);
}

export function smallInteger(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw new RangeError(`smallInteger out of range: ${value}`);
  return unsignedInteger(Buffer.from([value >> 8, value & 0xff]));
}

function base128(value: number): number[] {
  const out = [value & 0x7f];
  for (let rest = Math.floor(value / 128); rest > 0; rest = Math.floor(rest / 128)) out.unshift(0x80 | (rest & 0x7f));
  return out;
}

/** Object identifier from dotted form, e.g. "2.5.4.3". */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split(".").map(Number);
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined || arcs.some((a) => !Number.isInteger(a) || a < 0)) {
    throw new RangeError(`invalid object identifier: ${dotted}`);
  }
  const bytes = [...base128(first * 40 + second), ...rest.flatMap(base128)];
  return tlv(TAG.oid, Buffer.from(bytes));
}

export function utf8String(value: string): Buffer {
  return tlv(TAG.utf8String, Buffer.from(value, "utf8"));
}

export function octetString(content: Uint8Array): Buffer {
  return tlv(TAG.octetString, content);
}

/** A bit string whose length is a whole number of bytes (no unused bits). */
export function bitString(content: Uint8Array): Buffer {
  return tlv(TAG.bitString, Buffer.concat([Buffer.from([0]), content]));
}

/** [n] EXPLICIT: a constructed context-specific wrapper around one element. */
export function explicit(tagNumber: number, element: Uint8Array): Buffer {
  return tlv(0xa0 | tagNumber, element);
}

/** [n] IMPLICIT on a primitive type: the content with a context-specific tag. */
export function implicitPrimitive(tagNumber: number, content: Uint8Array): Buffer {
  return tlv(0x80 | tagNumber, content);
}

function twoDigits(n: number): string {
  return String(n).padStart(2, "0");
}

/** X.509 Time (RFC 5280 4.1.2.5): UTCTime through 2049, GeneralizedTime from 2050, whole seconds, "Z". */
export function x509Time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  const rest =
    twoDigits(date.getUTCMonth() + 1) +
    twoDigits(date.getUTCDate()) +
    twoDigits(date.getUTCHours()) +
    twoDigits(date.getUTCMinutes()) +
    twoDigits(date.getUTCSeconds()) +
    "Z";
  if (year >= 1950 && year < 2050) return tlv(TAG.utcTime, Buffer.from(twoDigits(year % 100) + rest, "ascii"));
  return tlv(TAG.generalizedTime, Buffer.from(String(year).padStart(4, "0") + rest, "ascii"));
}
