// Wharf's test identity provider: oidc-provider v9 with fixed users and clients, loopback only.
//
//   IDP_PORT=4010 IDP_REDIRECT_URIS=http://127.0.0.1:8080/auth/callback \
//   IDP_POST_LOGOUT_REDIRECT_URIS=http://127.0.0.1:8080/ node tests/idp/server.mjs
//
// Prints `IDP_READY http://127.0.0.1:PORT` once listening. Test-only: in-memory storage,
// a signing key made at start-up (tokens from an earlier run no longer verify), no TLS.
//
// Login (no JavaScript needed; any HTTP client with a cookie jar that resolves relative
// Location headers can drive it). Users: ana, omar, sofia, root.
//   GET /auth?...                        -> 303 /interaction/UID
//   GET /interaction/UID                 -> 200 login form, POST action="/interaction/UID/login",
//                                           fields `login`, `password` (password = login + "-pw")
//   POST /interaction/UID/login          -> 303 /auth/UID  (wrong credentials: 401, form again)
//   GET /auth/UID                        -> 303 /interaction/UID2  (consent prompt)
//   GET /interaction/UID2                -> 303 /auth/UID2  (consent is granted without a page)
//   GET /auth/UID2                       -> 303 REDIRECT_URI?code=...&state=...&iss=...
// Logout: GET /session/end?id_token_hint=...&post_logout_redirect_uri=...&state=... -> 200 form,
//   POST action="http://127.0.0.1:PORT/session/end/confirm" (absolute) with its hidden `xsrf`
//   and `logout=yes`
//   -> 303 post_logout_redirect_uri?state=...  (without one: 303 /session/end/success)
// Machine tokens: POST /token, basic auth automation:automation-secret,
//   grant_type=client_credentials&resource=urn:wharf|urn:other&scope=api -> RS256 JWT (typ at+jwt).
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import Provider, { errors } from 'oidc-provider';

const HOST = '127.0.0.1';
const port = Number.parseInt(process.env.IDP_PORT ?? '', 10);
if (!(port > 0 && port < 65536)) {
  console.error('tests/idp/server.mjs: IDP_PORT must be set to a port number');
  process.exit(2);
}
// The issuer must be known before listening, so port 0 ("any free port") is not supported.
const issuer = `http://${HOST}:${port}`;
const list = (name) => (process.env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const redirectUris = list('IDP_REDIRECT_URIS');
if (redirectUris.length === 0) {
  console.error('tests/idp/server.mjs: IDP_REDIRECT_URIS must list at least one redirect URI');
  process.exit(2);
}

const USERS = {
  ana: { name: 'Ana Analyst', groups: ['analytics'] },
  omar: { name: 'Omar Owner', groups: ['sales-data'] },
  sofia: { name: 'Sofia Steward', groups: ['finance-data', 'analytics'] },
  root: { name: 'Rita Root', groups: ['wharf-admins'] },
};
const AUTOMATION_GROUPS = ['ci-bots', 'sales-data'];
const RESOURCES = new Set(['urn:wharf', 'urn:other']);

// A fresh RSA key per run keeps the repository free of private keys; Wharf reads jwks_uri.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'wharf-test-rs256', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'wharf',
      client_secret: 'wharf-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: redirectUris,
      post_logout_redirect_uris: list('IDP_POST_LOGOUT_REDIRECT_URIS'),
    },
    {
      client_id: 'automation',
      client_secret: 'automation-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['wharf-test-idp-cookie-key-1'] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  // Wharf reads identity from the ID token only, so the ID token must carry the scope claims
  // too (the spec default puts them only in userinfo when an access token is issued).
  conformIdTokenClaims: false,
  // v9 requires PKCE only for public clients by default; Wharf must always send S256.
  pkce: { required: () => true },
  async findAccount(_ctx, sub) {
    const user = Object.hasOwn(USERS, sub) ? USERS[sub] : undefined;
    if (!user) return undefined;
    return {
      accountId: sub,
      // The provider filters these down to what the granted scopes/claims allow.
      async claims() {
        return { sub, name: user.name, email: `${sub}@example.com`, email_verified: true, groups: user.groups };
      },
    };
  },
  features: {
    devInteractions: { enabled: false }, // replaced by the plain forms below
    clientCredentials: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // Plain form with every field inside it (the default page puts the button outside).
      async logoutSource(ctx, form) {
        ctx.body = `<!DOCTYPE html><html><head><title>Sign out</title></head><body>
${form.replace('</form>', '<input type="hidden" name="logout" value="yes"/><button type="submit">Sign out</button></form>')}
</body></html>`;
      },
    },
    resourceIndicators: {
      enabled: true,
      // Only the machine client gets resource tokens; without `resource` it gets urn:wharf.
      // The wharf client keeps the ordinary opaque, userinfo-only access token.
      async defaultResource(ctx, client, oneOf) {
        if (oneOf) return oneOf;
        return client?.clientId === 'automation' && ctx.oidc.route === 'token' ? 'urn:wharf' : undefined;
      },
      async getResourceServerInfo(_ctx, resource, client) {
        if (client.clientId !== 'automation' || !RESOURCES.has(resource)) {
          throw new errors.InvalidTarget();
        }
        return {
          scope: 'api',
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 10 * 60,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  async extraTokenClaims(_ctx, token) {
    if (token.kind === 'ClientCredentials' && token.clientId === 'automation') {
      return { groups: AUTOMATION_GROUPS };
    }
    return undefined;
  },
  // Explicit TTLs keep oidc-provider from warning about defaults on stderr.
  ttl: {
    AccessToken: 60 * 60,
    AuthorizationCode: 60,
    ClientCredentials: 10 * 60,
    IdToken: 60 * 60,
    Interaction: 60 * 60,
    Grant: 24 * 60 * 60,
    Session: 24 * 60 * 60,
  },
  async renderError(ctx, out) {
    ctx.type = 'text/plain';
    ctx.body = Object.entries(out).map(([k, v]) => `${k}: ${v}`).join('\n');
  },
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(res, uid, status, message = '') {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`<!DOCTYPE html><html><head><title>Sign in</title></head><body>
${message ? `<p class="error">${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<input type="text" name="login" autofocus/>
<input type="password" name="password"/>
<button type="submit">Sign in</button>
</form></body></html>`);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

// Consent is granted for exactly what the prompt says is missing (scopes, claims, resources).
async function grantConsent(interaction) {
  const { prompt: { details }, params, session } = interaction;
  const grant = interaction.grantId
    ? await provider.Grant.find(interaction.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  return interaction.grantId ? {} : { consent: { grantId } };
}

async function interactions(req, res, path) {
  const [, uid, action] = path.split('/').filter(Boolean); // interaction/UID[/login]
  const interaction = await provider.interactionDetails(req, res);
  if (interaction.uid !== uid) throw new Error('interaction mismatch');
  const prompt = interaction.prompt.name;

  if (req.method === 'GET' && !action) {
    if (prompt === 'login') return loginPage(res, uid, 200);
    if (prompt === 'consent') return provider.interactionFinished(req, res, await grantConsent(interaction));
  }
  if (req.method === 'POST' && action === 'login' && prompt === 'login') {
    const form = await readForm(req);
    const login = form.get('login') ?? '';
    if (!Object.hasOwn(USERS, login) || form.get('password') !== `${login}-pw`) {
      return loginPage(res, uid, 401, 'Unknown user or wrong password.');
    }
    return provider.interactionFinished(req, res, { login: { accountId: login } });
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' }).end('unknown interaction step\n');
}

const handle = provider.callback();
const server = createServer((req, res) => {
  const path = new URL(req.url, issuer).pathname;
  if (!path.startsWith('/interaction/')) return handle(req, res);
  interactions(req, res, path).catch((err) => {
    if (!res.headersSent) res.writeHead(400, { 'Content-Type': 'text/plain' });
    res.end(`interaction failed: ${err.message} ${err.error_description ?? ''}\n`);
  });
});

server.listen(port, HOST, () => {
  process.stdout.write(`IDP_READY ${issuer}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
