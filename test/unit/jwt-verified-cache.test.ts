/** JwtKeySet.verify remembers a verified token by its exact text, and only until the token expires. */
import { generateKeyPairSync } from 'node:crypto';
import { JwtKeySet } from '../../platform/auth/jwt';

const keys = new JwtKeySet(new Map([['k1', generateKeyPairSync('ed25519').privateKey]]), 'k1');
const claims = { sub: '6f1c1f8e-8d3e-4a8a-9f55-0a4c1e2b3c4d', tid: '0b5e0f5a-3f0e-4c59-8d3a-1f2e3d4c5b6a', role: 'admin' as const, sid: '1d2c3b4a-5e6f-4a0b-8c9d-0e1f2a3b4c5d' };

describe('JwtKeySet.verify', () => {
  afterEach(() => jest.useRealTimers());

  it('refuses a token it verified before once that token has expired', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate', 'setTimeout', 'setInterval', 'performance'] });
    const token = await keys.sign(claims, 60);
    await expect(keys.verify(token)).resolves.toEqual(claims);
    jest.setSystemTime(Date.now() + 59_000);
    await expect(keys.verify(token)).resolves.toEqual(claims);
    jest.setSystemTime(Date.now() + 1_000);
    await expect(keys.verify(token)).rejects.toThrow();
  });

  it('refuses a copy of a verified token with its signature altered', async () => {
    const token = await keys.sign(claims, 60);
    await keys.verify(token);
    const altered = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    await expect(keys.verify(altered)).rejects.toThrow();
  });
});
