import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { addressAllowed, classifyAddress } from './address-policy';
import { OutboundError } from './outbound-error';

/**
 * A `lookup` for node:http(s) that resolves the host and hands the socket only addresses the
 * policy allows. Checking inside the connection's own lookup (rather than resolving once to check
 * and letting the request resolve again) leaves no gap for DNS rebinding: the address checked is
 * the address connected to. A name with any refused address is refused as a whole, so a record
 * set mixing a public and an internal address cannot be used to probe the internal one.
 */
export function guardedLookup(allowPrivateAddresses: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { family: options.family, hints: options.hints, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) {
        callback(err, '', 0);
        return;
      }
      const refused = addresses.find((a) => !addressAllowed(a.address, allowPrivateAddresses));
      if (refused) {
        const range = classifyAddress(refused.address).range;
        const error = new OutboundError(
          'OUT_ADDRESS_REFUSED',
          `${hostname} resolves to a ${range} address, which outbound calls may not reach (allow_private_addresses is off)`,
          false,
        );
        callback(error as NodeJS.ErrnoException, '', 0);
        return;
      }
      if (addresses.length === 0) {
        callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
        return;
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    });
  };
}
