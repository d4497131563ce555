import { createHmac } from 'node:crypto';
import { signatureFor, signatureHeaders } from '../../../core/outbound/signature';
import { verifySignature } from '../../../receivers/webhook/signature';

const SECRET = 'whsec_outbound_test_4c1d';

describe('outbound signature', () => {
  it('is the hex HMAC-SHA256 of "<timestamp>.<body>"', () => {
    const body = '{"event":"evaluation.completed"}';
    const expected = createHmac('sha256', SECRET).update(`1767225600.${body}`).digest('hex');
    expect(signatureFor(SECRET, 1767225600, body)).toBe(expected);
    expect(signatureFor(SECRET, '1767225600', Buffer.from(body))).toBe(expected);
    expect(signatureHeaders(SECRET, body, 1767225600.9)).toEqual({ 'X-Tracehouse-Timestamp': '1767225600', 'X-Tracehouse-Signature': `v1=${expected}` });
  });

  it('is what the webhook receiver verifies (one scheme in and out)', () => {
    const body = Buffer.from('{"title":"round trip"}');
    const signed = signatureHeaders(SECRET, body, 1767225600);
    const headers = {
      'x-aitracer-delivery-timestamp': signed['X-Tracehouse-Timestamp'],
      'x-aitracer-signature': signed['X-Tracehouse-Signature'],
    };
    expect(() => verifySignature(headers, body, { secrets: [SECRET], toleranceSeconds: 300, nowSeconds: 1767225610 })).not.toThrow();
    expect(() => verifySignature(headers, Buffer.from('{"title":"tampered"}'), { secrets: [SECRET], toleranceSeconds: 300, nowSeconds: 1767225610 })).toThrow(
      expect.objectContaining({ code: 'RCV_SIGNATURE_INVALID' }),
    );
  });
});
