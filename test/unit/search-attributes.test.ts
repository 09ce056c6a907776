/**
 * Temporal search attributes are visible to anyone who can list workflows (the Web UI, the CLI), unencrypted: none
 * may carry personal data. Each one FinFlow registers is documented in the README with what it holds, and
 * CustomerId, the only one a client writes, is an opaque id: the API and the database refuse anything else.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createPaymentBody } from '../../api/payments/routes';
import { ALL_SEARCH_ATTRIBUTES } from '../../temporal-config/search-attributes';

const readme = fs.readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');

/** The rows of the README's search attribute table: `| \`Name\` | type | what it holds |`. */
function documented(): Map<string, string> {
  const start = readme.indexOf('**Search attributes**');
  expect(start).toBeGreaterThan(-1);
  const rows = new Map<string, string>();
  for (const line of readme.slice(start).split('\n').slice(1)) {
    if (!line.trim().startsWith('|')) {
      if (rows.size > 0) break;
      continue;
    }
    const m = /^\s*\|\s*`([A-Za-z]+)`\s*\|[^|]*\|\s*(.+?)\s*\|\s*$/.exec(line);
    if (m) rows.set(m[1]!, m[2]!);
  }
  return rows;
}

describe('search attributes', () => {
  it('are each documented in the README with what they hold, and no others', () => {
    const rows = documented();
    expect([...rows.keys()].sort()).toEqual(ALL_SEARCH_ATTRIBUTES.map((k) => k.name).sort());
    for (const [, holds] of rows) expect(holds.length).toBeGreaterThan(20);
  });

  it('say in the README that none carries personal data', () => {
    expect(readme.slice(readme.indexOf('**Search attributes**'), readme.indexOf('**Search attributes**') + 600)).toMatch(/no\s+personal\s+data/i);
  });

  it.each([
    ['an email', 'mei.lin@example.com'],
    ['a name', 'Mei Lin'],
    ['a phone number', '+886 912 345 678'],
    ['a national id with dots', 'A.123.456.789'],
    ['free text', 'customer from Taipei'],
    ['an id too long to be one', 'x'.repeat(65)],
  ])('refuse %s as CustomerId (the API validates it as an opaque id)', (_what, customerId) => {
    const body = { amountMinor: 1099, currency: 'EUR', customerId, paymentMethod: 'pm_card_visa' };
    const parsed = createPaymentBody.safeParse(body);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['customerId']);
  });

  it('take an opaque customer id', () => {
    expect(createPaymentBody.safeParse({ amountMinor: 1099, currency: 'EUR', customerId: 'cus_NffrFeUfNV2Hib', paymentMethod: 'pm_card_visa' }).success).toBe(true);
  });
});
