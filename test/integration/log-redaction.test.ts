/**
 * Secrets and personal data never reach the logs: requests carrying them go through the real API (its request log
 * at debug level, which writes query, headers and body) and the captured pino output is searched for every value.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import request from 'supertest';
import { createApp } from '../../api/app';
import { createApiDeps } from '../../api/deps';
import { createLogger } from '../../platform/logger';
import { testConfig } from '../support/env';

const lines: string[] = [];
const capture = new Writable({
  write(chunk: Buffer, _enc, done) {
    lines.push(chunk.toString('utf8'));
    done();
  },
});
const deps = createApiDeps(testConfig(), createLogger({ level: 'debug', service: 'test' }, capture));
const server = createApp(deps).listen(0, '127.0.0.1');
afterAll(async () => {
  server.close();
  await deps.close();
});

const unique = (label: string) => `${label}${randomUUID().replace(/-/g, '').slice(0, 12)}`;

/** Every value below is secret or personal; none may appear in the log in any form. */
const SECRET = {
  bearer: unique('eyJhbGciOiJFZERTQSJ9.bearer'),
  apiKeyHeader: unique('ffk_header'),
  cookie: unique('session='),
  proxyAuthorization: unique('Basic proxy'),
  stripeSignature: unique('t=1,v1='),
  queryToken: unique('querytoken'),
  queryEmail: `${unique('query')}@example.test`,
  password: unique('pw-'),
  newPassword: unique('newpw-'),
  token: unique('invitation-'),
  refreshToken: unique('refresh-'),
  apiKey: unique('ffk_body'),
  apiKeySnake: unique('ffk_snake'),
  clientSecret: unique('pi_123_secret_'),
  clientSecretSnake: unique('pi_456_secret_'),
  webhookSecret: unique('whsec_'),
  privateKey: unique('MC4CAQAwBQYDK2VwBCIEI'),
  cardNumber: '4000056655665556',
  cardInText: '4242 4242 4242 4242',
  cardDashed: '5555-5555-5555-4444',
  cvc: '8317',
  iban: unique('DE89370400440532'),
  email: `${unique('mei.lin')}@example.test`,
  phone: unique('+4930'),
  givenName: unique('Mei'),
  familyName: unique('Lin'),
  fullName: unique('Mei Lin '),
  dateOfBirth: '1979-03-14',
  nationalId: unique('A12345'),
  line1: unique('7 Xinyi Road '),
  line2: unique('Floor '),
  city: unique('Taipei'),
  postalCode: 'SW1A 2AA',
  taxId: unique('TW-TAX-'),
  ip: '203.0.113.77',
};

it('writes none of the secret or personal values of a request to the log', async () => {
  const body = {
    email: SECRET.email,
    password: SECRET.password,
    newPassword: SECRET.newPassword,
    token: SECRET.token,
    refreshToken: SECRET.refreshToken,
    apiKey: SECRET.apiKey,
    api_key: SECRET.apiKeySnake,
    client_secret: SECRET.clientSecret,
    payment: { clientSecret: SECRET.clientSecretSnake, card: { number: SECRET.cardNumber, cvc: SECRET.cvc }, iban: SECRET.iban },
    webhookSecret: SECRET.webhookSecret,
    privateKey: SECRET.privateKey,
    metadata: { note: `paid with ${SECRET.cardInText}`, reference: `card ${SECRET.cardDashed}` },
    applicant: {
      givenName: SECRET.givenName,
      familyName: SECRET.familyName,
      dateOfBirth: SECRET.dateOfBirth,
      nationalId: SECRET.nationalId,
      country: 'TW',
      address: { line1: SECRET.line1, line2: SECRET.line2, city: SECRET.city, postalCode: SECRET.postalCode },
    },
    contact: { name: SECRET.fullName, phone: SECRET.phone, taxId: SECRET.taxId, ipAddress: SECRET.ip },
  };
  const http = () => request(server);
  // Through authentication (refused: an unknown token) with credentials in headers and query, and through public
  // routes (login, registration) that read the body before refusing it.
  await http()
    .post(`/api/credit/applications?token=${SECRET.queryToken}&email=${encodeURIComponent(SECRET.queryEmail)}`)
    .set('Authorization', `Bearer ${SECRET.bearer}`)
    .set('X-Api-Key', SECRET.apiKeyHeader)
    .set('Cookie', SECRET.cookie)
    .set('Proxy-Authorization', SECRET.proxyAuthorization)
    .set('Stripe-Signature', SECRET.stripeSignature)
    .set('Idempotency-Key', 'k1')
    .send(body)
    .expect(401);
  await http().post('/api/auth/login').send({ email: SECRET.email, password: SECRET.password }).expect(401);
  await http().post('/api/auth/register').send(body).expect(400);

  const output = lines.join('');
  // The request lines were written, with their bodies (the test would pass vacuously otherwise).
  const logged = lines.map((l) => JSON.parse(l) as { msg: string; path?: string; body?: unknown; headers?: unknown });
  expect(logged.filter((l) => l.msg === 'request').map((l) => l.path)).toEqual(['/api/credit/applications', '/api/auth/login', '/api/auth/register']);
  const byPath = new Map(logged.filter((l) => l.msg === 'request').map((l) => [l.path, l]));
  expect([...byPath.values()].every((l) => l.headers)).toBe(true);
  // The public routes read the body before refusing it, so it is logged (and must be redacted) there.
  expect(byPath.get('/api/auth/register')?.body).toEqual(expect.objectContaining({ applicant: expect.anything(), payment: expect.anything() }));
  expect(byPath.get('/api/auth/login')?.body).toEqual(expect.objectContaining({ email: expect.anything(), password: expect.anything() }));
  // Short values (a CVC) are searched as whole JSON strings, so a port or a duration cannot match them by chance.
  const found = (v: string) => (v.length < 6 ? output.includes(`"${v}"`) : output.includes(v) || output.includes(v.replace(/[ -]/g, '')));
  const leaked = Object.entries(SECRET).filter(([, v]) => found(v));
  expect(leaked.map(([k]) => k)).toEqual([]);
});
