import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../../platform/temporal/codec';

const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');
const payloadOf = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);

describe('AesGcmPayloadCodec', () => {
  const keys = new Map([
    ['2026-01', randomBytes(32)],
    ['2026-06', randomBytes(32)],
  ]);
  const codec = new AesGcmPayloadCodec(keys, '2026-06');

  it('round-trips a payload and hides its content', async () => {
    const original = payloadOf({ cardholder: 'Ada Lovelace', amountMinor: 1099 });
    const [encrypted] = await codec.encode([original]);
    expect(text(encrypted!.metadata![METADATA_ENCODING_KEY])).toBe(ENCRYPTED_ENCODING);
    expect(text(encrypted!.metadata![KEY_ID_METADATA])).toBe('2026-06');
    expect(text(encrypted!.data)).not.toContain('Ada');
    expect(Object.keys(encrypted!.metadata!)).toEqual([METADATA_ENCODING_KEY, KEY_ID_METADATA]);
    const [decoded] = await codec.decode([encrypted!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual({ cardholder: 'Ada Lovelace', amountMinor: 1099 });
  });

  it('uses a fresh nonce each time', async () => {
    const p = payloadOf('same');
    const [a] = await codec.encode([p]);
    const [b] = await codec.encode([p]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('decodes payloads written under a retired key after rotation', async () => {
    const before = new AesGcmPayloadCodec(keys, '2026-01');
    const [old] = await before.encode([payloadOf('written last year')]);
    const [decoded] = await codec.decode([old!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toBe('written last year');
  });

  it('refuses a payload whose key id it does not hold', async () => {
    const stranger = new AesGcmPayloadCodec(new Map([['other', randomBytes(32)]]), 'other');
    const [foreign] = await stranger.encode([payloadOf('x')]);
    await expect(codec.decode([foreign!])).rejects.toThrow('unknown key id other');
  });

  it('detects tampering with the ciphertext', async () => {
    const [encrypted] = await codec.encode([payloadOf('pay 100')]);
    const data = Buffer.from(encrypted!.data!);
    data.writeUInt8(data.readUInt8(20) ^ 0x01, 20);
    await expect(codec.decode([{ ...encrypted!, data }])).rejects.toThrow(/authenticate/);
  });

  it('detects a swapped key id (the id is authenticated)', async () => {
    const sameKey = randomBytes(32);
    const twoIds = new AesGcmPayloadCodec(new Map([['a', sameKey], ['b', sameKey]]), 'a');
    const [encrypted] = await twoIds.encode([payloadOf('x')]);
    const relabelled = { ...encrypted!, metadata: { ...encrypted!.metadata!, [KEY_ID_METADATA]: Buffer.from('b') } };
    await expect(twoIds.decode([relabelled])).rejects.toThrow(/authenticate/);
  });

  it('passes through payloads that are not encrypted', async () => {
    const plain = payloadOf('plain');
    await expect(codec.decode([plain])).resolves.toEqual([plain]);
  });

  it('will not start without its active key', () => {
    expect(() => new AesGcmPayloadCodec(keys, 'missing')).toThrow('no key with id missing');
  });
});
