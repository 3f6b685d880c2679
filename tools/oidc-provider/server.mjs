// oidc-provider set up like Tollgate's bench server, for tools/bench.sh: one confidential
// service client (client_credentials), one confidential web client (code + rotating refresh
// tokens, client_secret_basic), in-memory storage, on loopback only.
//
//   PORT=18090 FORMAT=opaque|jwt REFRESH_OUT=tokens.txt REFRESH_COUNT=64 node server.mjs
//
// FORMAT=jwt makes every access token an ES256 JWT (through a default resource whose
// accessTokenFormat is 'jwt'), the counterpart of Tollgate's `access_token_format = "jwt"`.
// Storage: its memory adapter with a larger LRU (below). Refresh tokens to start the load's chains are minted in-process at start (REFRESH_COUNT of
// them, one per line in REFRESH_OUT), the way a code exchange would leave them: a grant with
// `offline_access`; rotation is on for every refresh (`rotateRefreshToken: true`).
import { writeFileSync } from 'node:fs';
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';
// The provider's own in-memory adapter, with its LRU bound raised from 1 000 entries to
// 5 000 000: at 1 000, a few thousand refreshes evict the grants of chains not yet started
// and those fail with invalid_grant. Tollgate's MemoryStore has no bound either.
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const port = Number(process.env.PORT || 18090);
const format = process.env.FORMAT || 'opaque';
const issuer = `http://127.0.0.1:${port}`;
const RESOURCE = 'urn:tollgate-bench:api';

async function jwk(alg, options) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...options });
  return { ...(await exportJWK(privateKey)), alg, use: 'sig', kid: `bench-${alg}` };
}

const jwks = { keys: [await jwk('ES256'), await jwk('RS256', { modulusLength: 2048 })] };
const jwt = format === 'jwt';

const storage = new LRU({ maxSize: 5_000_000 });

const provider = new Provider(issuer, {
  adapter: (model) => new MemoryAdapter(model, storage),
  jwks,
  clients: [
    {
      client_id: 'bench-service',
      client_secret: process.env.SERVICE_SECRET || 'bench-service-secret-0123456789abcdefghijklmnop',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'api:read api:write',
    },
    {
      client_id: 'bench-web',
      client_secret: process.env.WEB_SECRET || 'bench-web-secret-0123456789abcdefghijklmnopqrs',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:9/cb'],
      scope: 'openid offline_access api:read',
    },
  ],
  scopes: ['openid', 'offline_access', 'api:read', 'api:write'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api:read api:write',
        audience: RESOURCE,
        accessTokenTTL: 3600,
        accessTokenFormat: jwt ? 'jwt' : 'opaque',
        ...(jwt ? { jwt: { sign: { alg: 'ES256' } } } : {}),
      }),
    },
  },
  rotateRefreshToken: true,
  ttl: {
    AccessToken: 3600,
    ClientCredentials: 3600,
    RefreshToken: 90 * 24 * 3600,
    Grant: 90 * 24 * 3600,
  },
  findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
});

const count = Number(process.env.REFRESH_COUNT || 0);
if (count > 0 && process.env.REFRESH_OUT) {
  const client = await provider.Client.find('bench-web');
  const tokens = [];
  for (let i = 0; i < count; i += 1) {
    const grant = new provider.Grant({ accountId: `user-${i}`, clientId: 'bench-web' });
    grant.addOIDCScope('offline_access');
    grant.addResourceScope(RESOURCE, 'api:read');
    const grantId = await grant.save();
    const rt = new provider.RefreshToken({
      accountId: `user-${i}`,
      client,
      grantId,
      gty: 'authorization_code',
      scope: 'offline_access api:read',
      resource: RESOURCE,
      rotations: 0,
      iiat: Math.floor(Date.now() / 1000),
    });
    tokens.push(await rt.save());
  }
  writeFileSync(process.env.REFRESH_OUT, `${tokens.join('\n')}\n`);
}

provider.listen(port, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${port} (oidc-provider, ${format} access tokens)`);
});
