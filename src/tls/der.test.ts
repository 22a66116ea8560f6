// DER writer: encodings checked against hand-worked ASN.1 bytes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as der from "./der.ts";

function hex(buffer: Buffer): string {
  return buffer.toString("hex");
}

void describe("DER writer", () => {
  const cases: [string, () => Buffer, string][] = [
    ["integer 0", () => der.unsignedInteger(Buffer.from([0, 0])), "020100"],
    ["integer 127", () => der.smallInteger(127), "02017f"],
    ["integer 128 gets a leading zero", () => der.smallInteger(128), "02020080"],
    ["integer 256", () => der.smallInteger(256), "02020100"],
    ["leading zero bytes are trimmed", () => der.unsignedInteger(Buffer.from([0, 0, 0x12, 0x34])), "02021234"],
    ["oid ecdsa-with-SHA256", () => der.oid("1.2.840.10045.4.3.2"), "06082a8648ce3d040302"],
    ["oid commonName", () => der.oid("2.5.4.3"), "0603550403"],
    ["boolean true", () => der.boolean(true), "0101ff"],
    ["empty sequence", () => der.sequence(), "3000"],
    ["utf8 string", () => der.utf8String("ab"), "0c026162"],
    ["bit string has no unused bits", () => der.bitString(Buffer.from([0xab])), "030200ab"],
    ["explicit [0]", () => der.explicit(0, der.smallInteger(2)), "a003020102"],
    ["implicit [2] (dNSName)", () => der.implicitPrimitive(2, Buffer.from("a")), "820161"],
    ["UTCTime before 2050", () => der.x509Time(new Date("2049-12-31T23:59:59Z")), `170d${hex(Buffer.from("491231235959Z"))}`],
    ["GeneralizedTime from 2050", () => der.x509Time(new Date("2050-01-01T00:00:00Z")), `180f${hex(Buffer.from("20500101000000Z"))}`],
  ];
  for (const [name, encode, expected] of cases) {
    void it(name, () => assert.equal(hex(encode()), expected));
  }

  void it("uses the long length form from 128 bytes", () => {
    assert.equal(hex(der.octetString(Buffer.alloc(127))).slice(0, 4), "047f");
    assert.equal(hex(der.octetString(Buffer.alloc(200))).slice(0, 6), "0481c8");
    assert.equal(hex(der.octetString(Buffer.alloc(300))).slice(0, 8), "0482012c");
  });

  void it("rejects malformed object identifiers", () => {
    assert.throws(() => der.oid("1"), RangeError);
    assert.throws(() => der.oid("1.x.3"), RangeError);
  });
});
