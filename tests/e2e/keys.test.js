// Walk 6: a passkey (README "Security keys and passkeys"), in a browser, with Chromium's virtual
// authenticator (DevTools protocol, WebAuthn domain: a platform authenticator that holds
// passkeys and verifies the person, and answers without a touch). A person of its own signs up
// with a phone, adds a named passkey in the account console and sees it listed; signs out; at
// the relying party's request for the phishing-resistant level signs in with "Sign in with a
// passkey" (no email, no password), consents, and the relying party gets an ID token whose acr
// is that level; signs in again by picking the passkey from the email field's suggestions
// (the page's autofill request); then signs in with the password and the passkey as second
// factor, and removes the passkey in the console. Started by run.sh, like walks.test.js.
//
// WebAuthn needs a host name: run.sh's issuer is http://localhost:<port> (at an IP address the
// pages offer no keys at all).
//
// E2E_PAGE_SHOTS=dir saves every page that shows a key, full length, at 1280 and 390 px wide.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';
import { stringsFor } from './strings.js';
import { PageChecker, DESKTOP, NARROW, screenshot, artifacts } from './lib/checks.js';
import { Outbox } from './lib/outbox.js';
import { RelyingParty } from './lib/rp.js';

const required = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run tests/e2e/run.sh`);
  return v;
};
const BASE = required('VERITY_BASE');
const LANG = process.env.E2E_LANG || 'en';
const SITE_NAME = process.env.E2E_SITE_NAME || 'Verity';
const CHROMIUM = process.env.E2E_CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.E2E_PAGE_SHOTS || '';
const s = stringsFor(LANG);
const PHISHING_RESISTANT = 'urn:verity:aal2:phishing-resistant';

const person = {
  email: `e2e-keys-${randomBytes(4).toString('hex')}@example.com`,
  password: 'amber lattice orchard kite 63',
  // Not the other walks' numbers: the per-number send limits stay theirs.
  phone: '+12015550187',
  phoneTyped: '(201) 555-0187',
  keyName: 'Walk laptop 7',
};

let browser;
let page;
let checker;
let outbox;
let rp;
let cdp;
let authenticatorId;
const done = { added: false, passkeySignIn: false, autofill: false };

before(async () => {
  rp = new RelyingParty({
    issuer: BASE,
    clientId: required('E2E_CLIENT_ID'),
    clientSecret: required('E2E_CLIENT_SECRET'),
    callbackPort: Number(required('E2E_CALLBACK_PORT')),
  });
  await rp.start();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const locale = LANG === 'es' ? 'es-US' : 'en-US';
  const context = await browser.newContext({ viewport: DESKTOP, locale });
  // As in verify.test.js: Chromium's own /favicon.ico fetch isn't a page's error.
  await context.route('**/favicon.ico', (route) => route.fulfill({ status: 204 }));
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  checker = new PageChecker(page, {
    lang: LANG,
    ignoreOrigins: [`${new URL(rp.redirectUri).origin}/`],
    allowText: [SITE_NAME, person.email, person.keyName, 'E2E Portal'],
  });
  outbox = new Outbox(await browser.newContext(), BASE);

  // The virtual authenticator lives in this page's browser tab, across its navigations: a
  // platform authenticator (transport "internal") that keeps passkeys (resident keys) and
  // verifies the person, and whose presence is simulated (no touch to wait for).
  cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  }));
});

after(async () => {
  await browser?.close();
  await rp?.stop();
  if (checker) {
    const problems = checker.findings.length + checker.browserErrors.length;
    const what = `axe WCAG 2.1 A/AA, 390 px wide${LANG === 'en' ? '' : ', no English left'}`;
    console.log(
      `\nsecurity key page checks: ${checker.checked.length} pages checked (${what}); ${
        problems ? `${problems} problem(s), screenshots in ${artifacts()}:\n${checker.report()}` : 'no problems'
      }`,
    );
  }
});

const heading = (name) => page.getByRole('heading', { name }).first().waitFor();
const text = (t) => page.getByText(t).first().waitFor();

/** Checks the page now shown (lib/checks.js) and, with E2E_PAGE_SHOTS, saves it at both widths. */
async function check(name, shot) {
  await checker.check(name);
  if (SHOTS && shot) {
    await page.screenshot({ path: `${SHOTS}/keys-${shot}-${LANG}-1280.png`, fullPage: true });
    await page.setViewportSize(NARROW);
    await page.screenshot({ path: `${SHOTS}/keys-${shot}-${LANG}-390.png`, fullPage: true });
    await page.setViewportSize(DESKTOP);
  }
}

async function tick(input) {
  const id = await input.getAttribute('id');
  await input.page().locator(`label[for="${id}"]`).click({ position: { x: 8, y: 8 } });
  assert.ok(await input.isChecked(), `${id} ticked`);
}

/** The walk's body; a failure names the page with a screenshot, and page-check problems fail it. */
async function walk(name, body) {
  const mark = { findings: checker.findings.length, errors: checker.browserErrors.length };
  try {
    await body();
  } catch (err) {
    const file = await screenshot(page, `${name}-failed`);
    checker.unchecked = null;
    throw new Error(`${name} stopped on ${page.url()}\n  screenshot: ${file}\n  ${err.message.split('\n').join('\n  ')}`, {
      cause: err,
    });
  }
  if (checker.unchecked) {
    checker.missed.push(checker.unchecked);
    checker.unchecked = null;
  }
  const problems = [
    ...checker.findings.slice(mark.findings).map((f) => `  ✗ ${f.page} — ${f.kind}: ${f.detail}\n      screenshot: ${f.screenshot}`),
    ...checker.browserErrors.slice(mark.errors).map((e) => `  ✗ browser error: ${e}`),
    ...checker.missed.splice(0).map((u) => `  ✗ visited but never checked: ${u}`),
  ];
  assert.ok(problems.length === 0, `${name}: the page checks found problems:\n${problems.join('\n')}`);
}

function needs(t, ok, earlier) {
  if (!ok) t.skip(`needs ${earlier}, which failed`);
  return ok;
}

/**
 * Whether the virtual authenticator answers by itself. Chromium's virtual authenticator answers
 * the sign-in page's autofill request (conditional mediation) at once when it may: as if the
 * person picked the passkey from the email field's suggestions. Where the walk wants the
 * button, or the password, it stays quiet on the sign-in page, and answers once the walk has
 * clicked what a person would.
 */
async function presence(enabled) {
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled });
}

/** The passkeys the virtual authenticator holds. */
async function credentials() {
  return (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
}

/** The console's list item for the person's passkey (by its name), or none. */
const keyItem = () => page.getByRole('listitem').filter({ hasText: person.keyName });

/** Signs out with the button in the page's header. */
async function signOut() {
  await page.getByRole('banner').getByRole('button', { name: s.common.signOut }).click();
  await page.getByRole('banner').getByRole('button', { name: s.common.signOut }).waitFor({ state: 'detached' });
}

/** Sign-up, email confirmation, password, sign-in and a phone: as in verify.test.js. */
async function signUpWithPhone() {
  await page.goto(`${BASE}/signup`);
  await heading(s.signup.heading);
  await check('sign-up');
  let mark = await outbox.mark();
  await page.getByLabel(s.signup.email).fill(person.email);
  await tick(page.getByLabel(s.signup.terms));
  await page.getByRole('button', { name: s.signup.submit }).click();
  await heading(s.checkEmail.heading);
  await check('check your email');
  const confirmation = await outbox.waitFor({
    to: person.email,
    since: mark,
    accept: (m) => m.links.some((l) => l.includes('/confirm-email')),
    what: 'confirmation email',
  });
  await page.goto(Outbox.link(confirmation, '/confirm-email'));
  await heading(s.choosePassword.heading);
  await check('choose your password');
  await page.getByLabel(s.choosePassword.password).fill(person.password);
  await page.getByLabel(s.choosePassword.again).fill(person.password);
  await page.getByRole('button', { name: s.choosePassword.submit }).click();
  await heading(s.emailConfirmed.heading);
  await check('email confirmed');
  await page.getByRole('link', { name: s.emailConfirmed.continue }).click();
  await heading(s.login.heading);
  await check('sign-in');
  await page.getByLabel(s.login.email).fill(person.email);
  await page.getByLabel(s.login.password).fill(person.password);
  await page.getByRole('button', { name: s.login.submit }).click();
  await heading(s.mfaSetup.heading);
  await page.getByRole('link', { name: s.keys.setupPasskey }).waitFor();
  await check('choose a second factor', 'mfa-setup');
  await page.getByRole('link', { name: s.mfaSetup.phone }).click();
  await heading(s.phoneEnrol.heading);
  await check('add a phone number');
  mark = await outbox.mark();
  await page.getByLabel(s.phoneEnrol.number).fill(person.phoneTyped);
  await tick(page.getByLabel(s.phoneEnrol.sms));
  await page.getByRole('button', { name: s.phoneEnrol.send }).click();
  await page.getByLabel(s.phoneEnrol.code).waitFor();
  await check('phone code');
  const sms = await outbox.waitFor({ to: person.phone, since: mark, what: 'text with a code' });
  await page.getByLabel(s.phoneEnrol.code).fill(Outbox.code(sms));
  await page.getByRole('button', { name: s.phoneEnrol.confirm }).click();
  await heading(s.another.heading);
  await check('recommend a second method');
  await page.getByRole('link', { name: s.another.skip }).click();
  await heading(s.home.heading);
  await check('home');
  await page.getByRole('link', { name: s.home.manage }).click();
}

test('walk 6a: a passkey added in the account console', async () => {
  await walk('walk 6a', async () => {
    await signUpWithPhone();
    await heading(s.keys.consoleHeading);
    await text(s.keys.none);
    await check('account before the passkey');

    await page.getByRole('link', { name: s.keys.addPasskey }).click();
    await heading(s.keys.addHeading);
    await check('add a passkey', 'add');
    const mark = await outbox.mark();
    await page.getByLabel(s.keys.name).fill(person.keyName);
    await page.getByRole('button', { name: s.keys.create }).click();

    // Back at the console's keys section, the passkey listed under its name, as a passkey.
    await page.waitForURL((u) => u.pathname === '/account');
    await heading(s.keys.consoleHeading);
    await keyItem().waitFor();
    const item = (await keyItem().textContent()).replace(/\s+/g, ' ');
    assert.ok(item.includes(s.keys.kindPasskey), `listed as a passkey: "${item}"`);
    assert.ok(item.includes(s.keys.neverUsed), `not used yet: "${item}"`);
    assert.equal(await page.getByText(s.keys.none).count(), 0, '"none added" is gone');
    await check('account with the passkey', 'console');

    const held = await credentials();
    assert.equal(held.length, 1, 'the authenticator holds one credential');
    assert.ok(held[0].isResidentCredential, 'a discoverable credential (a passkey)');
    const notice = await outbox.waitFor({
      to: person.email,
      since: mark,
      accept: (m) => m.body.includes(person.keyName),
      what: 'passkey-added email',
    });
    Outbox.link(notice, '/not-me');
    done.added = true;
  });
});

test('walk 6b: at the relying party, "Sign in with a passkey", phishing-resistant', async (t) => {
  if (!needs(t, done.added, 'walk 6a')) return;
  await walk('walk 6b', async () => {
    await signOut();
    await check('signed out');

    // Which request the passkey answered: the page's autofill one, or the button's.
    // (Read through a route: a response's body is gone from the browser once it navigates.)
    // The authenticator stays quiet for the autofill request and answers from the moment the
    // button's options arrive (a request it was quiet for when it began stays unanswered).
    const ceremonies = [];
    await page.route('**/login/passkey/options', async (route) => {
      const autofill = new URLSearchParams(route.request().postData() || '').get('autofill') === '1';
      const res = await route.fetch();
      const body = await res.json();
      ceremonies.push({ autofill, id: body.ceremony });
      if (!autofill) await presence(true);
      await route.fulfill({ response: res, json: body });
    });
    let answered = null;
    const answerSeen = (req) => {
      if (req.method() === 'POST' && new URL(req.url()).pathname === '/login/passkey') {
        answered = new URLSearchParams(req.postData() || '').get('ceremony');
      }
    };
    page.on('request', answerSeen);

    const { url, checks } = await rp.authorizationRequest({ acr_values: PHISHING_RESISTANT });
    await presence(false);
    await page.goto(url.href);
    await heading(s.login.heading);
    await page.getByRole('button', { name: s.keys.signInWithPasskey }).waitFor();
    await check('sign-in with the passkey button', 'login');

    // No email, no password: the authenticator names the account. The button's request
    // replaces the autofill one that the page started.
    await page.getByRole('button', { name: s.keys.signInWithPasskey }).click();
    await heading(s.consent.heading);
    await check('consent after the passkey');
    await page.unroute('**/login/passkey/options');
    page.off('request', answerSeen);
    const button = ceremonies.filter((c) => !c.autofill);
    assert.equal(button.length, 1, `one request for the button: ${JSON.stringify(ceremonies)}`);
    assert.equal(answered, button[0].id, `the button's request was answered: ${JSON.stringify({ ceremonies, answered })}`);
    const callback = rp.nextCallback();
    await page.getByRole('button', { name: s.consent.allow }).click();
    const callbackUrl = await callback;
    assert.ok(callbackUrl.searchParams.get('code'), `no code in the callback: ${callbackUrl}`);

    const tokens = await rp.exchange(callbackUrl, checks);
    const claims = tokens.claims();
    assert.equal(claims.email, person.email, 'the ID token names the person who holds the passkey');
    assert.equal(claims.acr, PHISHING_RESISTANT, 'the ID token says the sign-in resists phishing');
    for (const amr of ['user', 'mfa']) {
      assert.ok(claims.amr?.includes(amr), `amr ${JSON.stringify(claims.amr)} includes "${amr}"`);
    }
    // The virtual authenticator's keys aren't backup-eligible: bound to the device.
    assert.ok(claims.amr.includes('hwk'), `amr ${JSON.stringify(claims.amr)} includes "hwk"`);
    assert.ok(!claims.amr.includes('pwd'), `no password was used: amr ${JSON.stringify(claims.amr)}`);
    done.passkeySignIn = true;
  });
});

test('walk 6c: the passkey picked from the email field\'s suggestions', async (t) => {
  if (!needs(t, done.added, 'walk 6a')) return;
  await walk('walk 6c', async () => {
    await page.goto(`${BASE}/account`);
    await heading(s.account.heading);
    await check('account');
    await signOut();
    await check('signed out');

    // The page asks for a passkey in the background as it loads (conditional mediation); the
    // authenticator answers it, as if the person chose the passkey offered under the email
    // field. No button, no email, no password. (The page's options are held back until the
    // page is checked: the authenticator would answer at once.)
    let release;
    const held = new Promise((resolve) => {
      release = resolve;
    });
    await page.route('**/login/passkey/options', async (route) => {
      const res = await route.fetch();
      await held;
      await route.fulfill({ response: res });
    });
    await presence(true);
    await page.goto(`${BASE}/login`);
    await heading(s.login.heading);
    await check('sign-in, the passkey offered in autofill');
    const answer = page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/login/passkey');
    release();
    const posted = new URLSearchParams((await answer).postData() || '');
    assert.ok(posted.get('credential'), 'the autofill request posted the passkey\'s answer');
    await page.unroute('**/login/passkey/options');
    await heading(s.home.heading);
    await check('home after the passkey from autofill');
    done.autofill = true;
  });
});

test('walk 6d: password, then the passkey as second factor; the passkey removed', async (t) => {
  if (!needs(t, done.added, 'walk 6a')) return;
  await walk('walk 6d', async () => {
    await page.goto(`${BASE}/account`);
    await heading(s.account.heading);
    // The console shows the sign-in of walk 6b as the passkey's last use.
    if (done.passkeySignIn) {
      const item = (await keyItem().textContent()).replace(/\s+/g, ' ');
      assert.ok(!item.includes(s.keys.neverUsed), `the passkey shows a last use: "${item}"`);
    }
    await check('account after the passkey sign-in');
    await signOut();
    await check('signed out');

    await presence(false);
    await page.goto(`${BASE}/login`);
    await heading(s.login.heading);
    await check('sign-in');
    await page.getByLabel(s.login.email).fill(person.email);
    await page.getByLabel(s.login.password).fill(person.password);
    await page.getByRole('button', { name: s.login.submit }).click();
    // The strongest way is offered first: the passkey, with the phone among the others.
    await heading(s.challenge.heading);
    await page.getByRole('button', { name: s.keys.useKey }).waitFor();
    await page.getByRole('link', { name: person.phone.slice(-4) }).waitFor();
    await check('second factor: the passkey', 'mfa');
    await presence(true);
    await page.getByRole('button', { name: s.keys.useKey }).click();
    await heading(s.home.heading);
    await check('home after the passkey');

    await page.getByRole('link', { name: s.home.manage }).click();
    await heading(s.account.heading);
    await keyItem().waitFor();
    await check('account before removing');
    const mark = await outbox.mark();
    // A fresh sign-in: inside the step-up window, so no step-up page.
    await keyItem().getByRole('button', { name: s.keys.remove }).click();
    await page.waitForURL((u) => u.pathname === '/account');
    await heading(s.keys.consoleHeading);
    await text(s.keys.none);
    assert.equal(await keyItem().count(), 0, 'the passkey is no longer listed');
    await check('account after removing');
    await outbox.waitFor({
      to: person.email,
      since: mark,
      accept: (m) => m.body.includes(person.keyName),
      what: 'passkey-removed email',
    });
  });
});
