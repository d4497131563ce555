/** The built-in price catalog is data: these checks keep it honest as it is edited. */
import catalogJson from '../../../core/pricing/prices.json';
import { builtInCatalog, PriceBook } from '../../../core/pricing/pricing';

const { catalog, entries } = builtInCatalog();

test('the catalog parses, has a version, and holds at least 40 models', () => {
  expect(catalog.version).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  expect(catalog.currency).toBe('USD');
  expect(catalog.unit).toBe('per million tokens');
  expect(catalog.models.length).toBeGreaterThanOrEqual(40);
  expect(catalog.models.length).toBe(catalogJson.models.length);
});

test('every creator the task names is present, Meta through at least one host', () => {
  const creators = new Set(catalog.models.map((m) => m.creator));
  for (const creator of ['openai', 'anthropic', 'google', 'mistral', 'meta', 'deepseek']) expect(creators).toContain(creator);
  const metaHosts = new Set(catalog.models.filter((m) => m.creator === 'meta').map((m) => m.provider));
  expect(metaHosts.size).toBeGreaterThanOrEqual(2);
  expect(metaHosts).not.toContain('meta');
});

test.each(catalog.models.map((m) => [`${m.provider}/${m.id}`, m] as const))('%s is dated, sourced and non-negative', (_name, m) => {
  expect(m.as_of).toMatch(/^20\d{2}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/);
  expect(Date.parse(m.as_of)).not.toBeNaN();
  expect(m.as_of <= catalog.version).toBe(true);
  expect(m.source).toMatch(/^https:\/\//);
  expect(m.input_per_mtok).toBeGreaterThanOrEqual(0);
  expect(m.output_per_mtok).toBeGreaterThanOrEqual(0);
  if (m.cached_input_per_mtok !== null) {
    expect(m.cached_input_per_mtok).toBeGreaterThanOrEqual(0);
    // A cache discount, never a surcharge.
    expect(m.cached_input_per_mtok).toBeLessThanOrEqual(m.input_per_mtok);
  }
});

test.each(catalog.models.map((m) => [`${m.provider}/${m.id}`, m] as const))('%s: match compiles, matches its id, and resolves to itself', (_name, m) => {
  expect(() => new RegExp(m.match)).not.toThrow();
  expect(new RegExp(`^(?:${m.match})$`, 'i').test(m.id)).toBe(true);
  const found = new PriceBook(entries, []).lookup(m.id, { provider: m.provider });
  expect(found).toEqual({
    source: 'catalog',
    id: m.id,
    price: { input: m.input_per_mtok, output: m.output_per_mtok, cachedInput: m.cached_input_per_mtok },
  });
});

test('ids are unique per provider', () => {
  const keys = catalog.models.map((m) => `${m.provider}/${m.id.toLowerCase()}`);
  expect(new Set(keys).size).toBe(keys.length);
});
