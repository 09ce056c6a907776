/**
 * Access tokens: short-lived JWTs signed with Ed25519 (EdDSA) under a key id. Verification accepts only EdDSA
 * and only the keys configured here, looked up by `kid`: `alg: none`, HS256 signed with the public key, and
 * tokens from any other key are all refused. Rotation: add a key, make it active; tokens signed with the old
 * key stay valid until they expire, so nobody is logged out.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { exportJWK, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { Role } from '../../core/identity/rbac';

export const ISSUER = 'finflow';
export const AUDIENCE = 'finflow-api';
const ALG = 'EdDSA';

export interface AccessClaims {
  sub: string; // user id
  tid: string; // tenant id
  role: Role;
  sid: string; // session id (Redis): revocation takes effect at once
}

export class JwtKeySet {
  private readonly publicKeys = new Map<string, KeyObject>();

  constructor(
    private readonly privateKeys: ReadonlyMap<string, KeyObject>,
    private readonly activeKid: string,
  ) {
    if (!privateKeys.has(activeKid)) throw new Error(`JWT key set: no key with id ${activeKid}`);
    for (const [kid, key] of privateKeys) this.publicKeys.set(kid, createPublicKey(key));
  }

  /** `kid:<base64 PKCS#8 DER Ed25519 private key>` entries, as AUTH_JWT_KEYS holds them. */
  static parse(spec: string, activeKid: string): JwtKeySet {
    const keys = new Map<string, KeyObject>();
    for (const entry of spec.split(',').map((e) => e.trim()).filter(Boolean)) {
      const i = entry.indexOf(':');
      const key = createPrivateKey({ key: Buffer.from(entry.slice(i + 1), 'base64'), format: 'der', type: 'pkcs8' });
      if (key.asymmetricKeyType !== 'ed25519') throw new Error(`JWT key ${entry.slice(0, i)} is not an Ed25519 key`);
      keys.set(entry.slice(0, i), key);
    }
    return new JwtKeySet(keys, activeKid);
  }

  async sign(claims: AccessClaims, ttlSeconds: number): Promise<string> {
    return new SignJWT({ tid: claims.tid, role: claims.role, sid: claims.sid })
      .setProtectedHeader({ alg: ALG, kid: this.activeKid, typ: 'at+jwt' })
      .setSubject(claims.sub)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .setJti(crypto.randomUUID())
      .sign(this.privateKeys.get(this.activeKid)!);
  }

  /** Throws on anything but a well-formed, unexpired token signed by one of our keys. */
  async verify(token: string): Promise<AccessClaims> {
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        const key = header.kid ? this.publicKeys.get(header.kid) : undefined;
        if (!key) throw new Error('unknown key id');
        return key;
      },
      { algorithms: [ALG], issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt', requiredClaims: ['sub', 'exp', 'iat', 'jti'] },
    );
    return claimsOf(payload);
  }

  /** The public half of every key, for GET /.well-known/jwks.json. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const keys = await Promise.all(
      [...this.publicKeys].map(async ([kid, key]) => ({ ...(await exportJWK(key)), kid, alg: ALG, use: 'sig' })),
    );
    return { keys };
  }
}

function claimsOf(p: JWTPayload): AccessClaims {
  const { sub, tid, role, sid } = p as JWTPayload & Partial<AccessClaims>;
  if (typeof sub !== 'string' || typeof tid !== 'string' || typeof role !== 'string' || typeof sid !== 'string') {
    throw new Error('token is missing FinFlow claims');
  }
  return { sub, tid, role: role as Role, sid };
}
