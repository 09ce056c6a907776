import { deterministicUuid } from '../../platform/ids';

describe('deterministicUuid', () => {
  it('derives the same version-5 UUID from the same parts', () => {
    const a = deterministicUuid('payment:t1:key-1', 'capture');
    expect(a).toBe(deterministicUuid('payment:t1:key-1', 'capture'));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('differs when any part differs, including how the parts are split', () => {
    const ids = new Set([
      deterministicUuid('payment:t1:key-1', 'capture'),
      deterministicUuid('payment:t1:key-1', 'refund'),
      deterministicUuid('payment:t1:key-2', 'capture'),
      deterministicUuid('payment:t1:key-1capture'),
      deterministicUuid('payment:t1:key-', '1capture'),
    ]);
    expect(ids.size).toBe(5);
  });
});
