import { addressAllowed, classifyAddress } from '../../../core/outbound/address-policy';

describe('outbound address policy', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['fe80::1', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.127.255.254', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.251', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['64:ff9b::a00:1', 'private'],
  ])('refuses %s (%s) by default and allows it when private addresses are allowed', (address, range) => {
    expect(classifyAddress(address)).toEqual({ range, public: false });
    expect(addressAllowed(address, false)).toBe(false);
    expect(addressAllowed(address, true)).toBe(true);
  });

  it.each(['8.8.8.8', '93.184.216.34', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'allows the public address %s',
    (address) => {
      expect(classifyAddress(address)).toEqual({ range: 'unicast', public: true });
      expect(addressAllowed(address, false)).toBe(true);
    },
  );

  it('refuses what is not an address at all, whatever the setting', () => {
    expect(classifyAddress('example.com')).toEqual({ range: 'invalid', public: false });
    expect(addressAllowed('example.com', false)).toBe(false);
    expect(addressAllowed('example.com', true)).toBe(false);
  });
});
