import ipaddr from 'ipaddr.js';

export interface AddressClass {
  /** ipaddr.js's name of the range the address is in ('unicast' for ordinary public addresses). */
  range: string;
  /** Whether an outbound call may connect to it when private addresses are not allowed. */
  public: boolean;
}

/**
 * IPv6 ranges that carry an IPv4 address in their last 32 bits: the embedded address decides, so
 * ::ffff:127.0.0.1 is loopback, and 64:ff9b::a00:1 (NAT64) reaches 10.0.0.1.
 */
const EMBEDS_IPV4_IN_LOW_BITS = new Set(['ipv4Mapped', 'rfc6145', 'rfc6052']);

/**
 * Classifies an IP address (v4 or v6, optionally in brackets) for the outbound address policy.
 * Only ordinary unicast addresses count as public: an allow-list, so loopback, private (RFC 1918),
 * link-local, CGNAT, unique-local, multicast, unspecified, broadcast, reserved and documentation
 * ranges (and anything ipaddr.js learns to name later) are all refused by default.
 */
export function classifyAddress(address: string): AddressClass {
  const text = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (!ipaddr.isValid(text)) return { range: 'invalid', public: false };
  let parsed = ipaddr.parse(text);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    const range = v6.range();
    if (EMBEDS_IPV4_IN_LOW_BITS.has(range)) {
      const parts = v6.parts;
      parsed = new ipaddr.IPv4([parts[6] >> 8, parts[6] & 0xff, parts[7] >> 8, parts[7] & 0xff]);
    }
  }
  const range = parsed.range();
  return { range, public: range === 'unicast' };
}

/** Whether an outbound call may connect to `address` under the policy. */
export function addressAllowed(address: string, allowPrivateAddresses: boolean): boolean {
  if (allowPrivateAddresses) return ipaddr.isValid(address.replace(/^\[|\]$/g, ''));
  return classifyAddress(address).public;
}
