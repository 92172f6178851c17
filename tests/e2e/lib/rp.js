// The relying party: openid-client does discovery, builds the authorization request (code flow,
// PKCE, state, nonce), exchanges the code and calls userinfo. Its redirect URI is a tiny HTTP
// server here that hands each callback URL to whoever waits for it.
import http from 'node:http';
import * as oidc from 'openid-client';

export class RelyingParty {
  constructor({ issuer, clientId, clientSecret, callbackPort }) {
    this.issuer = issuer;
    this.clientId = clientId;
    this.clientSecret = clientSecret;
    this.redirectUri = `http://127.0.0.1:${callbackPort}/callback`;
    this.callbackPort = callbackPort;
    this.waiters = [];
    this.server = null;
    this.config = null;
  }

  async start() {
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url, this.redirectUri);
      if (url.pathname !== '/callback') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><html lang="en"><title>E2E Portal</title><main><h1>Back at E2E Portal</h1></main></html>');
      const waiter = this.waiters.shift();
      if (waiter) waiter(url);
    });
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.callbackPort, '127.0.0.1', resolve);
    });
    // Verity in dev mode is plain http on loopback: allowed explicitly here.
    this.config = await oidc.discovery(new URL(this.issuer), this.clientId, this.clientSecret, undefined, {
      execute: [oidc.allowInsecureRequests],
    });
  }

  async stop() {
    if (this.server) await new Promise((resolve) => this.server.close(resolve));
  }

  /**
   * A fresh authorization request; `checks` are what the code exchange must verify. `extra`
   * adds parameters (e.g. `acr_values`).
   */
  async authorizationRequest(extra = {}) {
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(this.config, {
      redirect_uri: this.redirectUri,
      scope: 'openid email phone',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      // The email in the ID token itself, not only at userinfo (OIDC Core §5.5).
      claims: JSON.stringify({ id_token: { email: null, email_verified: null } }),
      ...extra,
    });
    return { url, checks: { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce } };
  }

  /** Resolves with the next callback URL the browser is sent to. */
  nextCallback(timeoutMs = 15_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no callback at ${this.redirectUri} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((url) => {
        clearTimeout(timer);
        resolve(url);
      });
    });
  }

  /** Code → tokens (ID token signature, iss, aud, nonce, PKCE checked by openid-client). */
  async exchange(callbackUrl, checks) {
    return oidc.authorizationCodeGrant(this.config, callbackUrl, checks);
  }

  async userinfo(accessToken, sub) {
    return oidc.fetchUserInfo(this.config, accessToken, sub);
  }
}
