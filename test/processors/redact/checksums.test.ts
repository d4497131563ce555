import { cardLengthFits, ibanLength, luhnValid } from '../../../core/pii/checksums';

describe('Luhn', () => {
  it.each(['4111111111111111', '4111 1111 1111 1111', '378282246310005', '6011111111111117', '5500005555555559', '79927398713'])('accepts %s', (n) => {
    expect(luhnValid(n)).toBe(true);
  });

  it.each(['4111111111111112', '4532015112830367', '79927398710', '', 'abc'])('rejects %j', (n) => {
    expect(luhnValid(n)).toBe(false);
  });
});

describe('card issuer ranges', () => {
  it.each([
    ['4111111111111111', true],
    ['4222222222222', true],
    ['41111111111111111', false],
    ['378282246310005', true],
    ['3782822463100051', false],
    ['5500005555555559', true],
    ['550000555555555', false],
    ['2223000048400011', true],
    ['30569309025904', true],
    ['3530111333300000', true],
    ['6011111111111117', true],
    ['7011111111111117', false],
    ['1234567812345670', false],
  ])('%s fits: %s', (digits, fits) => {
    expect(cardLengthFits(digits)).toBe(fits);
  });
});

describe('IBAN', () => {
  it.each([
    ['DE89370400440532013000', 22],
    ['DE89 3704 0044 0532 0130 00', 27],
    ['GB82WEST12345698765432', 22],
    ['NO9386011117947', 15],
    ['FR1420041010050500013M02606', 27],
  ])('%s is valid, %i characters long as printed', (text, length) => {
    expect(ibanLength(text)).toBe(length);
  });

  it('ends where the registry length says, ignoring what follows', () => {
    expect(ibanLength('DE89 3704 0044 0532 0130 00 THANKS')).toBe(27);
  });

  it.each(['DE89370400440532013001', 'DE88370400440532013000', 'DE8937040044053201300', 'XX89370400440532013000', 'GB82WEST1234569876543'])('rejects %s', (text) => {
    expect(ibanLength(text)).toBe(0);
  });
});
