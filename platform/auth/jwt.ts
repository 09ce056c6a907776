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

/** How many verified tokens `verify` remembers (a few MB at most); the oldest is forgotten first. */
const VERIFIED_CACHE_SIZE = 10_000;

export class JwtKeySet {
  private readonly publicKeys = new Map<string, KeyObject>();
  /** Tokens whose signature and claims were verified, by their exact text, with their expiry (epoch seconds). */
  private readonly verified = new Map<string, { claims: AccessClaims; exp: number }>();

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

  /**
   * Throws on anything but a well-formed, unexpired token signed by one of our keys. A token verified once is
   * remembered by its exact text until it expires: the same bytes verify the same way under the same keys, so only
   * the expiry is checked again (as jose checks it: expired once now >= exp). The signature check is the costliest
   * step of an authenticated request, and a client sends the same token until it refreshes it. Only tokens that
   * passed verification are remembered, and at most VERIFIED_CACHE_SIZE of them.
   */
  async verify(token: string): Promise<AccessClaims> {
    const known = this.verified.get(token);
    if (known) {
      if (Math.floor(Date.now() / 1000) < known.exp) return known.claims;
      this.verified.delete(token);
    }
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        const key = header.kid ? this.publicKeys.get(header.kid) : undefined;
        if (!key) throw new Error('unknown key id');
        return key;
      },
      { algorithms: [ALG], issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt', requiredClaims: ['sub', 'exp', 'iat', 'jti'] },
    );
    const claims = claimsOf(payload);
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { claims, exp: payload.exp! });
    return claims;
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
