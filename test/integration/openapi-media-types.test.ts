/**
 * The OpenAPI document lists every media type a route answers: the accounting reports' printable pages are
 * text/html (found by npm run fuzz: format=html answered text/html where only application/json was documented).
 */
import { bearer, registerTenant, startApi, type TestApi } from '../support/api';

type Document = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>> };

describe('the OpenAPI document and the report pages', () => {
  let api: TestApi;
  let document: Document;
  beforeAll(async () => {
    api = startApi();
    document = (await api.http().get('/api/openapi.json').expect(200)).body;
  });
  afterAll(() => api.close());

  it.each([
    ['/api/accounting/reports/trial-balance', '?asOf=2026-01-31'],
    ['/api/accounting/reports/balance-sheet', '?asOf=2026-01-31'],
    ['/api/accounting/reports/income-statement', '?from=2026-01-01&to=2026-01-31'],
    ['/api/accounting/reports/cash-summary', '?from=2026-01-01&to=2026-01-31'],
    ['/api/accounting/reports/journal', '?from=2026-01-01&to=2026-01-31'],
  ])('%s answers format=html as text/html, and documents it', async (path, query) => {
    const tenant = await registerTenant(api);
    const res = await api.http().get(`${path}${query}&format=html`).set(bearer(tenant.admin.accessToken)).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(Object.keys(document.paths[path]!.get!.responses['200']!.content ?? {})).toEqual(['application/json', 'text/html']);
  });

  it.each(['/api/accounting/reports/accounts/{id}/ledger', '/api/invoices/ageing'])('documents text/html for %s too', (path) => {
    expect(Object.keys(document.paths[path]!.get!.responses['200']!.content ?? {})).toEqual(['application/json', 'text/html']);
  });
});
