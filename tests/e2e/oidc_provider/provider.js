// The company's identity provider for the end-to-end tests of company sign-in (tests/e2e/test_oidc.py):
// panva's oidc-provider (a certified OpenID Provider), on loopback, with one confidential client (the
// helpdesk), a few people with group claims, and hooks under /_test/ that only the tests call.
//
//   node provider.js <port> <helpdesk redirect uri>[,<another>...]
//
// Sign-in needs no form: the interaction signs in the account named by `login_hint` (the tests pick
// the person), as a company's single sign-on would after its own password and second factor.
// Prints "ready <issuer>" on stdout once it listens.
import { createServer } from 'node:http';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const [port, redirectUris] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const CLIENT_ID = 'helpdesk';
const CLIENT_SECRET = 'helpdesk-test-client-secret-0123456789';

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await jose.exportJWK(privateKey)), kid: 'company-1', alg: 'RS256', use: 'sig' };
// Same kid, another key: what an attacker who does not hold the provider's key can sign with.
const { privateKey: foreignKey } = await jose.generateKeyPair('RS256', { extractable: true });

// The directory: id -> claims. /_test/users/<id> changes a person between sign-ins.
const people = {
  ada: { email: 'ada@corp.example', email_verified: true, given_name: 'Ada', family_name: 'Lovelace', groups: ['helpdesk-network-agents'] },
  grace: { email: 'grace@corp.example', email_verified: true, given_name: 'Grace', family_name: 'Hopper', groups: ['helpdesk-admins'] },
  tess: { email: 'tess@corp.example', email_verified: true, given_name: 'Tess', family_name: 'T', groups: ['helpdesk-admins'] },
  bob: { email: 'bob@corp.example', email_verified: true, given_name: 'Bob', family_name: 'B', groups: ['staff'] },
  linus: { email: 'linus@corp.example', email_verified: true, given_name: 'Linus', family_name: 'T', groups: ['staff'] },
  mallory: { email: 'mallory@corp.example', email_verified: false, given_name: 'Mallory', family_name: 'M', groups: ['helpdesk-admins'] },
};

// How the next token responses are spoiled (/_test/mode): null, "payload" (a claim changed after
// signing), "foreign_key" (signed by a key not in the JWKS), "audience" (signed right, for another
// client); and how long ID tokens live and how long the token endpoint waits before answering.
let mode = { tamper: null, idTokenTtl: 300, delayMs: 0 };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: redirectUris.split(','),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [signingKey] },
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  conformIdTokenClaims: false, // the claims of the scopes go in the ID token, as most company IdPs do
  features: { devInteractions: { enabled: false } },
  ttl: { IdToken: () => mode.idTokenTtl, AccessToken: 600, AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600 },
  async findAccount(ctx, id) {
    const person = people[id];
    if (!person) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, name: `${person.given_name} ${person.family_name}`, ...person };
      },
    };
  },
});
provider.proxy = false;

async function body(ctx) {
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {};
}

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const unb64 = (part) => JSON.parse(Buffer.from(part, 'base64url').toString());

async function spoil(idToken) {
  const [header, payload, signature] = idToken.split('.');
  const claims = unb64(payload);
  if (mode.tamper === 'payload') {
    return `${header}.${b64({ ...claims, email: 'grace@corp.example', groups: ['helpdesk-admins'] })}.${signature}`;
  }
  const key = mode.tamper === 'foreign_key' ? foreignKey : privateKey;
  const aud = mode.tamper === 'audience' ? 'another-client' : claims.aud;
  return new jose.SignJWT({ ...claims, aud }).setProtectedHeader(unb64(header)).sign(key);
}

provider.use(async (ctx, next) => {
  if (ctx.path.startsWith('/_test/')) {
    const [, , what, id] = ctx.path.split('/');
    if (what === 'users' && people[id] && ctx.method === 'POST') {
      Object.assign(people[id], await body(ctx));
      ctx.body = people[id];
    } else if (what === 'mode' && ctx.method === 'POST') {
      mode = { tamper: null, idTokenTtl: 300, delayMs: 0, ...(await body(ctx)) };
      ctx.body = mode;
    } else {
      ctx.status = 404;
    }
    return;
  }
  if (ctx.path.startsWith('/interaction/')) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const accountId = details.params.login_hint;
    if (!people[accountId]) {
      ctx.status = 400;
      ctx.body = `no person ${accountId} in the test directory (send login_hint)`;
      return;
    }
    const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    const result = { login: { accountId }, consent: { grantId } };
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
    return;
  }
  await next();
  if (ctx.path === '/token' && ctx.body && ctx.body.id_token) {
    if (mode.tamper) ctx.body.id_token = await spoil(ctx.body.id_token);
    if (mode.delayMs) await new Promise((resolve) => setTimeout(resolve, mode.delayMs));
  }
});

const server = createServer(provider.callback());
server.listen(Number(port), '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
