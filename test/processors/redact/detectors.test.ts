import { BUILTIN_DETECTOR_NAMES } from '../../../processors/redact/config';
import { redactText } from './support';

/** [input, expected output] with every detector on and action mask. */
type Case = [string, string];

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq9\nx0Tz1Q==\n-----END RSA PRIVATE KEY-----';

const truePositives: Record<(typeof BUILTIN_DETECTOR_NAMES)[number], Case[]> = {
  email: [
    ['mail john.doe+tag@example.co.uk now', 'mail [REDACTED:EMAIL] now'],
    ['contact: J.Doe@Example.COM.', 'contact: [REDACTED:EMAIL].'],
    ['a@b.io,c@d.org', '[REDACTED:EMAIL],[REDACTED:EMAIL]'],
    ['<mailto:jane_doe@mail.example.com>', '<mailto:[REDACTED:EMAIL]>'],
  ],
  phone: [
    ['call +44 20 7946 0958 today', 'call [REDACTED:PHONE] today'],
    ['+1 (415) 555-2671', '[REDACTED:PHONE]'],
    ['tel:+14155552671', 'tel:[REDACTED:PHONE]'],
    ['+49 30 12345678', '[REDACTED:PHONE]'],
    ['+44 (0)20 7946 0958', '[REDACTED:PHONE]'],
    ['(555) 123-4567', '[REDACTED:PHONE]'],
    ['555-123-4567 or 555.123.4567 or 555 123 4567', '[REDACTED:PHONE] or [REDACTED:PHONE] or [REDACTED:PHONE]'],
    ['1-800-555-0199', '[REDACTED:PHONE]'],
    ['020 7946 0958', '[REDACTED:PHONE]'],
    ['06 12 34 56 78', '[REDACTED:PHONE]'],
    ['0170-1234567', '[REDACTED:PHONE]'],
  ],
  payment_card: [
    ['card 4111 1111 1111 1111 exp', 'card [REDACTED:PAYMENT_CARD] exp'],
    ['4111-1111-1111-1111', '[REDACTED:PAYMENT_CARD]'],
    ['4111111111111111', '[REDACTED:PAYMENT_CARD]'],
    ['mc 5500005555555559, 2-series 2223000048400011', 'mc [REDACTED:PAYMENT_CARD], 2-series [REDACTED:PAYMENT_CARD]'],
    ['amex 3782 822463 10005 / 378282246310005', 'amex [REDACTED:PAYMENT_CARD] / [REDACTED:PAYMENT_CARD]'],
    ['discover 6011111111111117, jcb 3530111333300000', 'discover [REDACTED:PAYMENT_CARD], jcb [REDACTED:PAYMENT_CARD]'],
    ['visa13 4222222222222', 'visa13 [REDACTED:PAYMENT_CARD]'],
  ],
  iban: [
    ['IBAN DE89 3704 0044 0532 0130 00 PLEASE', 'IBAN [REDACTED:IBAN] PLEASE'],
    ['GB82WEST12345698765432', '[REDACTED:IBAN]'],
    ['FR14 2004 1010 0505 0001 3M02 606', '[REDACTED:IBAN]'],
    ['to NL91ABNA0417164300.', 'to [REDACTED:IBAN].'],
    ['CH9300762011623852957', '[REDACTED:IBAN]'],
  ],
  us_ssn: [
    ['ssn 123-45-6789', 'ssn [REDACTED:US_SSN]'],
    ['078-05-1120', '[REDACTED:US_SSN]'],
    ['123 45 6789', '[REDACTED:US_SSN]'],
  ],
  ipv4: [
    ['client 192.168.1.10 connected', 'client [REDACTED:IPV4] connected'],
    ['10.0.0.1:8080', '[REDACTED:IPV4]:8080'],
    ['route 10.0.0.0/8', 'route [REDACTED:IPV4]/8'],
    ['ip=8.8.8.8.', 'ip=[REDACTED:IPV4].'],
    // Decision: an unprefixed four-part version cannot be told from an address.
    ['1.2.3.4', '[REDACTED:IPV4]'],
  ],
  ipv6: [
    ['from 2001:db8::8a2e:370:7334 via', 'from [REDACTED:IPV6] via'],
    ['2001:0db8:85a3:0000:0000:8a2e:0370:7334', '[REDACTED:IPV6]'],
    ['::ffff:192.0.2.1', '[REDACTED:IPV6]'],
    ['[fe80::1ff:fe23:4567:890a]:443', '[[REDACTED:IPV6]]:443'],
    ['nat64 64:ff9b::192.0.2.33 and 1:2:3:4:5:6:1.2.3.4', 'nat64 [REDACTED:IPV6] and [REDACTED:IPV6]'],
    ['seven groups then "::": 1:2:3:4:5:6:7::, and a::1.2.3.4', 'seven groups then "::": [REDACTED:IPV6], and [REDACTED:IPV6]'],
  ],
  api_key: [
    ['OPENAI_API_KEY=sk-proj-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0', 'OPENAI_API_KEY=[REDACTED:API_KEY]'],
    [`key sk-ant-api03-${'x9'.repeat(40)}-AAAA end`, 'key [REDACTED:API_KEY] end'],
    [`sk-${'aB3'.repeat(16)}`, '[REDACTED:API_KEY]'],
  ],
  aws_access_key: [
    ['aws_access_key_id = AKIAIOSFODNN7EXAMPLE', 'aws_access_key_id = [REDACTED:AWS_ACCESS_KEY]'],
    ['ASIAY34FZKBOKMUTVV7A', '[REDACTED:AWS_ACCESS_KEY]'],
  ],
  github_token: [
    [`token ghp_${'a1B2'.repeat(9)}`, 'token [REDACTED:GITHUB_TOKEN]'],
    [`gho_${'Z9'.repeat(18)}`, '[REDACTED:GITHUB_TOKEN]'],
    ['github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz', '[REDACTED:GITHUB_TOKEN]'],
  ],
  slack_token: [
    ['SLACK=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', 'SLACK=[REDACTED:SLACK_TOKEN]'],
    ['xapp-1-A0123456789-0123456789012-abcdef', '[REDACTED:SLACK_TOKEN]'],
  ],
  jwt: [
    [`token=${JWT}&x=1`, 'token=[REDACTED:JWT]&x=1'],
    ['eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', '[REDACTED:JWT]'],
  ],
  bearer_token: [
    ['Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0', 'Authorization: Bearer [REDACTED:BEARER_TOKEN]'],
    ['authorization: bearer abc.DEF-123_xyz~456+789/0==', 'authorization: bearer [REDACTED:BEARER_TOKEN]'],
    // "Bearer" anchors further left than the JWT inside it, so the credential is labelled by it.
    [`Bearer ${JWT}`, 'Bearer [REDACTED:BEARER_TOKEN]'],
  ],
  private_key: [
    [`key: ${PEM} (rotated)`, 'key: [REDACTED:PRIVATE_KEY] (rotated)'],
    ['-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC', '[REDACTED:PRIVATE_KEY]'],
    ['x-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n-----END OPENSSH PRIVATE KEY-----y', 'x[REDACTED:PRIVATE_KEY]y'],
  ],
  url_credentials: [
    ['GET https://alice:s3cret@api.example.com/v1?q=1', 'GET https://[REDACTED:URL_CREDENTIALS]@api.example.com/v1?q=1'],
    ['DATABASE_URL=postgres://app:p%40ss@db.internal:5432/main', 'DATABASE_URL=postgres://[REDACTED:URL_CREDENTIALS]@db.internal:5432/main'],
    // A raw "@" in the password: the last "@" of the authority ends the userinfo.
    ['redis://:pa@ss@cache:6379', 'redis://[REDACTED:URL_CREDENTIALS]@cache:6379'],
    // The host after the credentials is not an e-mail domain.
    ['http://user:pw@example.com/hook', 'http://[REDACTED:URL_CREDENTIALS]@example.com/hook'],
  ],
};

/** Strings that resemble a detector's values but are not, each left exactly as it is. */
const nearMisses: Record<(typeof BUILTIN_DETECTOR_NAMES)[number], string[]> = {
  email: ['user@localhost', '@handle', 'foo@bar', 'a @ b.com'],
  phone: [
    'epoch 1700000000123',
    '2024-05-01 12:30:45',
    '2024-05-01T12:30:45+02:00',
    'dates 01.05.2024 and 01-05-2024',
    'gpt-4o-mini-2024-07-18',
    'short +12 345',
    '555-1234',
    'id 15551234567',
    '000-12-3456',
    'population 1 000 000',
    'uuid 123e4567-e89b-12d3-a456-426614174000',
    'account 0044 0532 0130 01',
  ],
  payment_card: [
    'invalid luhn 4111111111111112',
    'random ids 4532015112830367 and 4716190207394369',
    'starts with 1: 1234567812345670',
    'ns timestamp 1763900000000000000',
    'double 0.4111111111111111',
    'glued order4111111111111111',
    '4111111111111111x',
  ],
  iban: ['DE89 3704 0044 0532 0130 01', 'de89370400440532013000', 'XX89370400440532013000', 'DE8937040044053201300', 'DE89370400440532013000X'],
  us_ssn: ['000-12-3456', '666-12-3456', '900-12-3456', '987-65-4321', '123-00-4567', '123-45-0000', '123456789', '123-45-67890'],
  ipv4: ['256.1.1.1', '1.1.1.256', 'v1.2.3.4', 'release 1.2.3.4.5', '192.168.1', '01.02.03.04', 'Chrome/120.0.6099.109'],
  ipv6: ['::1', 'fe80::1', 'std::vector<int>', 'Foo::Bar::baz', '12:30:45', '00:1a:2b:3c:4d:5e', 'a::b', 'ratio 3:4:5'],
  api_key: ['sk-learn-style-words-here-ok', 'task-abc123def456ghi789jkl', 'sk-short1'],
  aws_access_key: ['AKIAIOSFODNN7EXAMPL', 'AKIAIOSFODNN7EXAMPLEX', 'akiaiosfodnn7example'],
  github_token: ['ghp_short123', 'ghx_' + 'a'.repeat(36)],
  slack_token: ['xoxb-123', 'xoxz-1234567890123'],
  jwt: ['eyJhbGciOiJIUzI1NiJ9', 'eyJ.eyJ.x'],
  bearer_token: ['use bearer authentication everywhere', 'the Bearer token is missing', 'Bearer short1'],
  private_key: ['-----BEGIN PUBLIC KEY-----\nMFkwEwYH\n-----END PUBLIC KEY-----', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'],
  url_credentials: ['git://anonymous@host/repo', 'https://example.com/a:b@c', 'see http://example.com:8080/x', 'mailto:jane'],
};

describe.each(BUILTIN_DETECTOR_NAMES.map((name) => [name] as const))('detector %s', (name) => {
  it.each(truePositives[name])('redacts %j', async (input, expected) => {
    expect(await redactText(input)).toBe(expected);
  });

  it.each(nearMisses[name].map((s) => [s]))('leaves %j alone', async (input) => {
    expect(await redactText(input)).toBe(input);
  });

  it('can be turned off', async () => {
    const [input] = truePositives[name][0];
    const out = await redactText(input, { detectors: { [name]: { enabled: false } } });
    expect(out).not.toContain(`[REDACTED:${name.toUpperCase()}]`);
  });
});

describe('boundaries shared by the detectors', () => {
  it.each([
    ['an escaped newline before a value (JSON-ish text that does not parse)', String.raw`{oops\njane@x.io\n+14155552671\n4111111111111111`, String.raw`{oops\n[REDACTED:EMAIL]\n[REDACTED:PHONE]\n[REDACTED:PAYMENT_CARD]`],
    ['values glued to each other by punctuation', '4111111111111111,+14155552671;10.0.0.1', '[REDACTED:PAYMENT_CARD],[REDACTED:PHONE];[REDACTED:IPV4]'],
    ['a value at the very start and end', '078-05-1120 x 078-05-1120', '[REDACTED:US_SSN] x [REDACTED:US_SSN]'],
  ])('%s', async (_what, input, expected) => {
    expect(await redactText(input)).toBe(expected);
  });

  it('leaves the benchmark-style prompt and model names alone', async () => {
    for (const text of ['Summarize the following support ticket in two sentences.', 'gpt-4o-mini-2024-07-18', 'claude-3-5-sonnet-20241022', 'chat gpt-4o-mini']) {
      expect(await redactText(text)).toBe(text);
    }
  });
});
