// Browser walks through Verity, one person from sign-up to a lost phone. Started by run.sh, which
// runs the server and registers the relying party; see README "Browser tests".
//
// The walks run in order and share the person: 1. sign-up to tokens, 2. a phone change,
// 3. forgot password, 4. lost phone. Every page shown is checked (lib/checks.js) and the
// problems found are reported at the end of the walk that met them, with screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';
import { stringsFor } from './strings.js';
import { PageChecker, DESKTOP, screenshot, artifacts, englishLeft, assertNoEnglish } from './lib/checks.js';
import { Outbox } from './lib/outbox.js';
import { RelyingParty } from './lib/rp.js';
import { Authenticator } from './lib/totp.js';

const required = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run tests/e2e/run.sh`);
  return v;
};
const BASE = required('VERITY_BASE');
const LANG = process.env.E2E_LANG || 'en';
const SITE_NAME = process.env.E2E_SITE_NAME || 'Verity';
const CHROMIUM = process.env.E2E_CHROMIUM || '/usr/bin/chromium';
const s = stringsFor(LANG);

// One person for all walks. Numbers in 555-01xx are fictional and valid for the phone parser.
const person = {
  email: `e2e-${randomBytes(4).toString('hex')}@example.com`,
  password: 'violet anchor maple drum 42',
  newPassword: 'quiet harbour lantern moss 17',
  phone: '+12015550123',
  phoneTyped: '(201) 555-0123',
  newPhone: '+12015550146',
  newPhoneTyped: '(201) 555-0146',
  app: null, // the authenticator app, once enrolled
};
const done = { signup: false, phoneChange: false, reset: false };

let browser;
let context;
let page;
let checker;
let outbox;
let rp;

before(async () => {
  rp = new RelyingParty({
    issuer: BASE,
    clientId: required('E2E_CLIENT_ID'),
    clientSecret: required('E2E_CLIENT_SECRET'),
    callbackPort: Number(required('E2E_CALLBACK_PORT')),
  });
  await rp.start();
  // launch() gives the browser a new, empty profile directory of its own (--user-data-dir) and
  // removes it on close; Playwright adds --headless and --no-sandbox itself, repeated here to be
  // explicit. No extension, update, sync or QUIC traffic.
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
  context = await browser.newContext({ viewport: DESKTOP, locale });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
  checker = new PageChecker(page, {
    lang: LANG,
    ignoreOrigins: [`${new URL(rp.redirectUri).origin}/`],
    allowText: [SITE_NAME, person.email, 'E2E Portal'],
  });
  outbox = new Outbox(await browser.newContext(), BASE);
});

after(async () => {
  await browser?.close();
  await rp?.stop();
  if (checker) {
    const problems = checker.findings.length + checker.browserErrors.length;
    const what = `axe WCAG 2.1 A/AA, 390 px wide${LANG === 'en' ? '' : ', no English left'}`;
    console.log(
      `\npage checks: ${checker.checked.length} pages checked (${what}); ${
        problems ? `${problems} problem(s), screenshots in ${artifacts()}:\n${checker.report()}` : 'no problems'
      }`,
    );
  }
});

/** The page-check problems found since `mark`, one per line. */
function problemsSince(mark) {
  if (checker.unchecked) {
    checker.missed.push(checker.unchecked);
    checker.unchecked = null;
  }
  return [
    ...checker.findings.slice(mark.findings).map((f) => `  ✗ ${f.page} — ${f.kind}: ${f.detail}\n      screenshot: ${f.screenshot}`),
    ...checker.browserErrors.slice(mark.errors).map((e) => `  ✗ browser error: ${e}`),
    ...checker.missed.splice(0).map((u) => `  ✗ visited but never checked: ${u}`),
  ];
}

/** Runs one walk; a failure names the page with a screenshot, and page-check problems fail it. */
async function walk(name, body) {
  const mark = { findings: checker.findings.length, errors: checker.browserErrors.length };
  try {
    await body();
  } catch (err) {
    const file = await screenshot(page, `${name}-failed`);
    checker.unchecked = null; // the page it stopped on is the failure itself
    const problems = problemsSince(mark);
    throw new Error(
      `${name} stopped on ${page.url()}\n  screenshot: ${file}\n  ${err.message.split('\n').join('\n  ')}${
        problems.length ? `\n  page checks before that:\n${problems.join('\n')}` : ''
      }`,
      { cause: err },
    );
  }
  const problems = problemsSince(mark);
  assert.ok(problems.length === 0, `${name}: the page checks found problems:\n${problems.join('\n')}`);
}

/** Later walks go on from where the earlier one left the person; without it they're skipped. */
function needs(t, ok, earlier) {
  if (!ok) t.skip(`needs ${earlier}, which failed`);
  return ok;
}

const heading = (name) => page.getByRole('heading', { name }).first().waitFor();
const text = (t) => page.getByText(t).first().waitFor();
const check = (name) => checker.check(name);

// E2E_SHOTS=dir saves the README's pictures of the pages as the walk shows them.
async function readmeShot(name) {
  const dir = process.env.E2E_SHOTS;
  if (dir) await page.screenshot({ path: `${dir}/${name}-${LANG}.png` });
}

// USWDS draws its own checkboxes and radios at the left edge of the label and moves the real
// input off-screen, so a person clicks the drawn box: so does this (not the label's middle,
// which may hold a link). Then the input must be ticked.
async function tick(input) {
  const id = await input.getAttribute('id');
  await input.page().locator(`label[for="${id}"]`).click({ position: { x: 8, y: 8 } });
  assert.ok(await input.isChecked(), `${id} ticked`);
}

/** The authenticator key shown on the page: base32, in one piece or in groups. */
async function shownKey() {
  const key = await page.evaluate(() => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const t = n.textContent.replace(/\s+/g, '');
      if (/^[A-Z2-7]{16,}=*$/.test(t)) return t;
    }
    return null;
  });
  assert.ok(key, 'the authenticator page shows no key as text');
  return key;
}

test('assertNoEnglish fires on an English page and stays quiet on a Spanish one', async () => {
  const probe = await context.browser().newContext({ viewport: DESKTOP });
  const p = await probe.newPage();
  try {
    await p.goto(`${BASE}/login`);
    const left = await englishLeft(p, { allow: [SITE_NAME] });
    assert.ok(left.length >= 3, `expected English on the English sign-in page, found ${JSON.stringify(left)}`);
    await assert.rejects(assertNoEnglish(p, { allow: [SITE_NAME] }), /English left/);

    const spanish = (button) => `<!doctype html><html lang="es"><title>Iniciar sesión · Verity</title>
      <main><h1>Iniciar sesión</h1>
      <p>Escriba su correo electrónico y su contraseña. Verity nunca le pedirá un código por teléfono.</p>
      <label for="e">Correo electrónico</label><input id="e" type="email">
      <p>Ejemplo: ana@example.com · +1 201 555 0123</p>
      <button>${button}</button></main></html>`;
    await p.setContent(spanish('Continuar'));
    await assertNoEnglish(p, { allow: [SITE_NAME] });
    await p.setContent(spanish('Continue'));
    await assert.rejects(assertNoEnglish(p, { allow: [SITE_NAME] }), /"Continue"/);
  } finally {
    await probe.close();
  }
});

test('the page checks catch an axe violation, sideways scrolling and a page left unchecked', async () => {
  const probe = await browser.newContext({ viewport: DESKTOP });
  const p = await probe.newPage();
  try {
    const c = new PageChecker(p, { screenshots: false });
    await p.goto(`${BASE}/login`);
    await c.check('sign-in as served');
    assert.equal(c.report(), '', 'the sign-in page as served passes');

    // A box wider than a phone and a field without a label (set through the DOM: the page's
    // CSP refuses inline style attributes).
    await p.evaluate(() => {
      const box = document.createElement('div');
      box.textContent = 'wide';
      box.style.width = '600px';
      const field = document.createElement('input');
      field.type = 'text';
      document.querySelector('main').append(box, field);
    });
    await c.check('sign-in, broken');
    const kinds = c.findings.map((f) => `${f.kind}: ${f.detail}`);
    assert.ok(kinds.some((k) => k.startsWith('overflow at 390 px') && k.includes('div')), kinds.join('\n'));
    assert.ok(kinds.some((k) => k.startsWith('axe: label')), kinds.join('\n'));

    await p.goto(`${BASE}/signup`);
    await p.goto(`${BASE}/login`);
    await c.check('sign-in again');
    assert.ok(c.missed.some((u) => u.endsWith('/signup')), `missed: ${c.missed}`);
  } finally {
    await probe.close();
  }
});

test('walk 1: sign-up, email confirmation, phone and authenticator app, consent, tokens', async () => {
  await walk('walk 1', async () => {
    const { url, checks } = await rp.authorizationRequest();
    await page.goto(url.href);
    await heading(s.login.heading);
    await check('sign-in from the relying party');

    // The sign-in's state is lost (as in a Redis restart): the page names the app and starts
    // its request again.
    await page.goto(`${BASE}/login?expired=1`);
    await heading(s.interrupted.heading);
    await check('sign-in interrupted');
    await page.getByRole('link', { name: s.interrupted.restart }).click();
    await heading(s.login.heading);
    await check('sign-in, started again');

    await page.getByRole('link', { name: s.login.createAccount }).click();
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
    await check('sign-in after confirming');
    await readmeShot('sign-in');
    await page.getByLabel(s.login.email).fill(person.email);
    await page.getByLabel(s.login.password).fill(person.password);
    await page.getByRole('button', { name: s.login.submit }).click();
    await heading(s.mfaSetup.heading);
    await check('choose a second factor');

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

    // After the first method, a second one is recommended (issue 12, item 3): the person adds
    // the authenticator app there and goes on to the waiting request.
    await heading(s.another.heading);
    await check('recommend a second method');
    await page.getByRole('link', { name: s.another.skip }).waitFor();
    await page.getByRole('link', { name: s.another.addApp }).click();
    await heading(s.totp.heading);
    await check('add an authenticator app');
    person.app = new Authenticator(await shownKey());
    await page.getByLabel(s.totp.code).fill(await person.app.nextCode());
    await page.getByRole('button', { name: s.totp.confirm }).click();

    await heading(s.consent.heading);
    await check('consent');
    const callback = rp.nextCallback();
    await page.getByRole('button', { name: s.consent.allow }).click();
    const callbackUrl = await callback;
    assert.ok(callbackUrl.searchParams.get('code'), `no code in the callback: ${callbackUrl}`);

    const tokens = await rp.exchange(callbackUrl, checks);
    const claims = tokens.claims();
    assert.equal(claims.email, person.email, 'the ID token carries the email address');
    assert.equal(claims.email_verified, true, 'the ID token says the email is verified');
    const info = await rp.userinfo(tokens.access_token, claims.sub);
    assert.equal(info.email, person.email, 'userinfo answers the email address');
    assert.equal(info.phone_number, person.phone, 'userinfo answers the phone number');
    done.signup = true;
  });
});

test('walk 2: a phone change to the receipt, with step-up and the notices', async (t) => {
  if (!needs(t, done.signup, 'walk 1')) return;
  await walk('walk 2', async () => {
    await page.goto(`${BASE}/account`);
    await heading(s.account.heading);
    await check('account before the change');
    const mark = await outbox.mark();

    // The session was confirmed with a phone added minutes ago; the app can confirm instead.
    await page.getByRole('link', { name: s.account.changePhone }).click();
    await heading(s.stepUp.heading);
    await check('step-up password');
    await page.getByLabel(s.stepUp.password).fill(person.password);
    await page.getByRole('button', { name: s.stepUp.continue }).click();
    await page.getByLabel(s.challenge.appCode).waitFor();
    await check('step-up second factor');
    await page.getByLabel(s.challenge.appCode).fill(await person.app.nextCode());
    await page.getByRole('button', { name: s.challenge.continue }).click();

    await heading(s.phoneChange.numberHeading);
    await check('new phone number');
    await page.getByLabel(s.phoneChange.newNumber).fill(person.newPhoneTyped);
    await tick(page.getByLabel(s.phoneChange.sms));
    await page.getByRole('button', { name: s.phoneChange.send }).click();
    await heading(s.phoneChange.codeHeading);
    await check('phone change code');
    const codeSms = await outbox.waitFor({ to: person.newPhone, since: mark, what: 'text with a code' });
    await page.getByLabel(s.phoneChange.code).fill(Outbox.code(codeSms));
    await page.getByRole('button', { name: s.phoneChange.continue }).click();

    await heading(s.phoneChange.reviewHeading);
    await check('check and confirm');
    await readmeShot('phone-change');
    await text(person.newPhone.slice(-4));
    await page.getByRole('button', { name: s.phoneChange.confirm }).click();
    await heading(s.phoneChange.doneHeading);
    await check('phone change receipt');
    await text(s.phoneChange.receiptNote);
    await text(person.newPhone.slice(-4));

    const notCode = (m) => !/\b\d{6}\b/.test(m.body);
    const oldText = await outbox.waitFor({ to: person.phone, since: mark, accept: notCode, what: 'text to the old number' });
    Outbox.link(oldText, '/not-me');
    const email = await outbox.waitFor({ to: person.email, since: mark, what: 'phone change email' });
    Outbox.link(email, '/not-me');
    await outbox.waitFor({
      to: person.newPhone,
      since: mark,
      accept: (m) => notCode(m) && m.body !== codeSms.body,
      what: 'text to the new number',
    });
    done.phoneChange = true;
  });
});

test('walk 3: forgot password, with the app as second factor', async (t) => {
  if (!needs(t, done.phoneChange, 'walk 2')) return;
  await walk('walk 3', async () => {
    await page.getByRole('button', { name: s.common.signOut }).click();
    await page.getByRole('button', { name: s.common.signOut }).waitFor({ state: 'detached' });
    await check('signed out');
    await page.goto(`${BASE}/login`);
    await heading(s.login.heading);
    await check('sign-in');
    await page.getByRole('link', { name: s.login.forgot }).click();
    await heading(s.forgot.heading);
    await check('forgot password');
    let mark = await outbox.mark();
    await page.getByLabel(s.forgot.email).fill(person.email);
    await page.getByRole('button', { name: s.forgot.submit }).click();
    await text(s.forgot.sent);
    await check('reset link sent');

    const mail = await outbox.waitFor({
      to: person.email,
      since: mark,
      accept: (m) => m.links.some((l) => l.includes('/reset-password')),
      what: 'reset email',
    });
    await page.goto(Outbox.link(mail, '/reset-password'));
    // The new phone is in its SIM-swap cooldown: the app is asked for, and the page says why.
    await page.getByLabel(s.challenge.appCode).waitFor();
    await text(s.challenge.cooldown);
    await check('reset second factor');
    await page.getByLabel(s.challenge.appCode).fill(await person.app.nextCode());
    await page.getByRole('button', { name: s.challenge.continue }).click();
    await heading(s.newPassword.heading);
    await check('choose a new password');
    mark = await outbox.mark();
    await page.getByLabel(s.newPassword.password).fill(person.newPassword);
    await page.getByLabel(s.newPassword.again).fill(person.newPassword);
    await page.getByRole('button', { name: s.newPassword.submit }).click();
    await heading(s.newPassword.doneHeading);
    await check('password changed');

    await outbox.waitFor({ to: person.email, since: mark, what: 'password-changed email' });
    await outbox.waitFor({ to: person.newPhone, since: mark, what: 'password-changed text' });
    done.reset = true;
  });
});

test('walk 4: lost phone, asking for an account reset', async (t) => {
  if (!needs(t, done.reset, 'walk 3')) return;
  await walk('walk 4', async () => {
    await page.getByRole('link', { name: s.newPassword.signIn }).click();
    await heading(s.login.heading);
    await check('sign-in with the new password');
    await page.getByLabel(s.login.email).fill(person.email);
    await page.getByLabel(s.login.password).fill(person.newPassword);
    await page.getByRole('button', { name: s.login.submit }).click();
    await page.getByRole('link', { name: s.challenge.lostPhone }).waitFor();
    await check('second factor');

    await page.getByRole('link', { name: s.challenge.lostPhone }).click();
    await heading(s.lostPhone.heading);
    await check('lost phone');
    await page.getByRole('link', { name: s.lostPhone.useApp }).waitFor();
    let mark = await outbox.mark();
    await page.getByRole('button', { name: s.lostPhone.reset }).click();
    await text(s.lostPhone.emailed);
    await check('account reset link sent');

    const mail = await outbox.waitFor({
      to: person.email,
      since: mark,
      accept: (m) => m.links.some((l) => l.includes('/account-reset/request')),
      what: 'account reset confirmation email',
    });
    await page.goto(Outbox.link(mail, '/account-reset/request'));
    await heading(s.accountReset.heading);
    await check('confirm the account reset');
    mark = await outbox.mark();
    await page.getByRole('button', { name: s.accountReset.confirm }).click();
    await text(s.accountReset.waiting);
    await check('account reset waiting');

    await outbox.waitFor({ to: person.email, since: mark, what: 'account reset notice by email' });
    await outbox.waitFor({ to: person.newPhone, since: mark, what: 'account reset notice by text' });
  });
});
