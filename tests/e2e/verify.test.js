// Walk 5: identity verification (README "Identity verification (IAL2)"), in a browser, with the
// mock vendors of dev mode. A person of its own signs up with a phone, opens the account console
// and verifies: an expired licence first (refused, with the error shown), then a good one
// (a JSON fixture as the front, a photographed PDF417 barcode as the back), a selfie, the SSN,
// the review, the phone code, done; the console then shows the verified identity.
// Started by run.sh, like walks.test.js; the fixtures are in fixtures/ (fixtures/README.md).
//
// E2E_PAGE_SHOTS=dir saves every /verify page, full length, at 1280 and at 390 px wide.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { stringsFor } from './strings.js';
import { PageChecker, DESKTOP, NARROW, screenshot, artifacts } from './lib/checks.js';
import { Outbox } from './lib/outbox.js';

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
// Walk 5c's person: the online check can't read their licence (it has expired), so an agent
// verifies them by video.
const agentPerson = {
  email: `e2e-agent-${randomBytes(4).toString('hex')}@example.com`,
  password: 'lantern orchard pebble violin 41',
  phone: '+12015550171',
  phoneTyped: '(201) 555-0171',
};

// Walk 5c's agent: an agent's own Verity account, linked by an operator, works the desk.
const deskAgent = {
  email: `e2e-desk-${randomBytes(4).toString('hex')}@operator.example`,
  password: 'harbor quartz meadow lantern 73',
  phone: '+12015550172',
  phoneTyped: '(201) 555-0172',
};

const fixture = (name) => path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', name);

// The management API (run.sh registers an admin client with the proofing scopes).
const ADMIN_ID = required('E2E_ADMIN_ID');
const ADMIN_SECRET = required('E2E_ADMIN_SECRET');

// Not walk 1's person: this one's phone was enrolled at sign-up (a changed phone would be in
// its SIM-swap cooldown and couldn't confirm the identity).
const person = {
  email: `e2e-idv-${randomBytes(4).toString('hex')}@example.com`,
  password: 'copper willow signal ferry 58',
  // Not walk 1's number either, so the per-number send limits stay theirs.
  phone: '+12015550168',
  phoneTyped: '(201) 555-0168',
  // What fixtures/licence-front.json and licence-back.png say; 900-xx-xxxx passes the mock records.
  name: 'FAKEY MCFAKERSON',
  ssn: '900-12-3456',
  ssnMasked: '•••-••-3456',
  address: '1 FAKE RD GREAT FALLS MT 59401 US',
};

// Walk 5b's person: another account, phone and licence number (the same licence as walk 5's
// would be held as a duplicate document), and a phone check that fails, so they ask for a letter.
const mailPerson = {
  email: `e2e-mail-${randomBytes(4).toString('hex')}@example.com`,
  password: 'amber harbour quilt meadow 73',
  phone: '+12015550169',
  phoneTyped: '(201) 555-0169',
  // A number the mock phone check can't tie to the person.
  otherPhoneTyped: '(201) 555-5555',
  name: person.name,
  ssn: '900-12-3457',
  address: person.address,
};

let browser;
let page;
let checker;
let outbox;

before(async () => {
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
  // Verity serves no /favicon.ico: Chromium's own fetch of it on a browser's first page logs a
  // 404 "error" that no page caused (walks.test.js meets it on a probe page, unwatched).
  await context.route('**/favicon.ico', (route) => route.fulfill({ status: 204 }));
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  checker = new PageChecker(page, {
    lang: LANG,
    // The fixture person's name and address (as the review page shows it) are data, not English.
    allowText: [SITE_NAME, person.email, person.name, person.address],
  });
  outbox = new Outbox(await browser.newContext(), BASE);
});

after(async () => {
  await browser?.close();
  if (checker) {
    const problems = checker.findings.length + checker.browserErrors.length;
    const what = `axe WCAG 2.1 A/AA, 390 px wide${LANG === 'en' ? '' : ', no English left'}`;
    console.log(
      `\nidentity verification page checks: ${checker.checked.length} pages checked (${what}); ${
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
    await page.screenshot({ path: `${SHOTS}/verify-${shot}-${LANG}-1280.png`, fullPage: true });
    await page.setViewportSize(NARROW);
    await page.screenshot({ path: `${SHOTS}/verify-${shot}-${LANG}-390.png`, fullPage: true });
    await page.setViewportSize(DESKTOP);
  }
}

// As in walks.test.js: USWDS draws its own boxes at the label's left edge; click the drawn box.
async function tick(input) {
  const id = await input.getAttribute('id');
  await input.page().locator(`label[for="${id}"]`).click({ position: { x: 8, y: 8 } });
  assert.ok(await input.isChecked(), `${id} ticked`);
}

// A refused form comes back as its page again with a 4xx status (the walk asserts which);
// Chromium logs every such document as "Failed to load resource". Those lines, and only for
// the statuses the walk expected, aren't page errors.
const expectedStatusLogs = [];
function expectStatusLog(res) {
  expectedStatusLogs.push(`${res.url()}: Failed to load resource: the server responded with a status of ${res.status()} `);
}

/** Clicks `button` and returns the answer to the form it posts (before any redirect). */
async function submit(button, pathname) {
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === pathname),
    button.click(),
  ]);
  return res;
}

/** The walk's body; a failure names the page with a screenshot, and page-check problems fail it. */
async function walk(name, body) {
  try {
    await body();
  } catch (err) {
    const file = await screenshot(page, `${name}-failed`);
    throw new Error(`${name} stopped on ${page.url()}\n  screenshot: ${file}\n  ${err.message.split('\n').join('\n  ')}`, {
      cause: err,
    });
  }
  if (checker.unchecked) checker.missed.push(checker.unchecked);
  checker.browserErrors = checker.browserErrors.filter((e) => !expectedStatusLogs.some((l) => e.startsWith(l)));
  const problems = checker.report();
  assert.ok(problems === '', `${name}: the page checks found problems:\n${problems}`);
}

/** Sign-up, email confirmation, password, sign-in and a phone: as walk 1, without a relying party. */
async function signUpWithPhone(person) {
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
  await heading(s.another.heading);
  await check('recommend a second method');
  await page.getByRole('link', { name: s.another.skip }).click();
  await heading(s.home.heading);
  await check('home');
  await page.getByRole('link', { name: s.home.manage }).click();
}

/**
 * The password step after the last check, then the personal key page (shown once: read it,
 * check its download link, continue). Returns the key as shown.
 */
async function protectWithPassword(who, protectShot, keyShot) {
  await heading(s.verify.protectHeading);
  await check('verify: protect your information', protectShot);
  await page.getByLabel(s.verify.password).fill(who.password);
  await page.getByRole('button', { name: s.verify.protectButton }).click();
  await heading(s.verify.personalKeyHeading);
  const key = (await page.locator('#personal-key').textContent()).trim();
  assert.match(key, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/, `a grouped personal key: ${key}`);
  const download = page.getByRole('link', { name: s.verify.personalKeyDownload });
  assert.equal(await download.getAttribute('download'), 'personal-key.txt');
  assert.ok(decodeURIComponent(await download.getAttribute('href')).includes(key), 'the file holds the key');
  await check('verify: personal key', keyShot);
  await page.getByRole('button', { name: s.verify.personalKeySaved }).click();
  return key;
}

/** A management API token with the proofing scopes (client_credentials). */
async function adminToken(scope = 'verity:admin:proofing verity:admin:proofing:pii') {
  const basic = Buffer.from(`${encodeURIComponent(ADMIN_ID)}:${encodeURIComponent(ADMIN_SECRET)}`).toString('base64');
  const res = await fetch(`${BASE}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });
  const body = await res.text();
  assert.equal(res.status, 200, `admin token: ${body}`);
  return JSON.parse(body).access_token;
}

/** A management API call (with a JSON body when given); returns the response. */
function adminCall(token, method, path, body) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${BASE}/admin/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/** Fills the document form with two fixture files and sends it. */
async function sendDocument(front, back) {
  await tick(page.getByLabel(s.verify.driversLicense));
  await page.getByLabel(s.verify.front).setInputFiles(fixture(front));
  await page.getByLabel(s.verify.back).setInputFiles(fixture(back));
  return submit(page.getByRole('button', { name: s.verify.continue }), '/verify/document');
}

test('walk 5: identity verification, from the account console to a verified identity', async () => {
  await walk('walk 5', async () => {
    await signUpWithPhone(person);
    await heading(s.account.heading);
    await check('account before verifying');

    await page.getByRole('link', { name: s.verify.consoleLink }).click();
    await heading(s.verify.startHeading);
    await check('verify: start', 'start');
    await tick(page.getByLabel(s.verify.consent));
    await page.getByRole('button', { name: s.verify.start }).click();

    await heading(s.verify.documentHeading);
    await check('verify: document', 'document');

    // An expired licence (the front and the barcode agree): refused, said plainly, nothing advances.
    let res = await sendDocument('expired-front.json', 'expired-back.png');
    assert.equal(res.status(), 422, 'an expired document is refused');
    expectStatusLog(res);
    await page.getByRole('alert').filter({ hasText: s.verify.expired }).waitFor();
    await heading(s.verify.documentHeading);
    assert.equal(await page.getByLabel(s.verify.front).getAttribute('aria-invalid'), 'true', 'the front is marked');
    assert.ok(await page.getByLabel(s.verify.driversLicense).isChecked(), 'the chosen type is kept');
    await check('verify: document expired', 'document-error');

    res = await sendDocument('licence-front.json', 'licence-back.png');
    assert.equal(res.status(), 303, `the good licence passes (HTTP ${res.status()})`);
    await heading(s.verify.selfieHeading);
    await check('verify: selfie', 'selfie');
    await page.getByLabel(s.verify.selfie).setInputFiles(fixture('selfie.jpg'));
    res = await submit(page.getByRole('button', { name: s.verify.continue }), '/verify/selfie');
    assert.equal(res.status(), 303, `the selfie passes (HTTP ${res.status()})`);

    await heading(s.verify.ssnHeading);
    await check('verify: SSN', 'ssn');
    const ssn = page.getByLabel(s.verify.ssn);
    assert.equal(await ssn.getAttribute('type'), 'password', 'the SSN is typed into a masked field');
    await ssn.fill(person.ssn);
    await page.getByRole('button', { name: s.verify.continue }).click();

    await heading(s.verify.reviewHeading);
    await check('verify: review', 'review');
    const row = (label) => page.getByRole('row', { name: label }).getByRole('cell');
    assert.equal((await row(s.verify.reviewName).textContent()).trim(), person.name);
    assert.equal((await row(s.verify.reviewSsn).textContent()).trim(), person.ssnMasked);
    const html = await page.content();
    for (const whole of [person.ssn, person.ssn.replace(/-/g, ''), '900-12', '90012']) {
      assert.ok(!html.includes(whole), `the review page never holds the SSN in full (found "${whole}")`);
    }
    await page.getByRole('button', { name: s.verify.verifyButton }).click();

    await heading(s.verify.phoneHeading);
    await check('verify: phone', 'phone');
    await tick(page.getByLabel(person.phone.slice(-4)));
    let mark = await outbox.mark();
    await page.getByRole('button', { name: s.verify.sendCode }).click();
    await heading(s.verify.codeHeading);
    await text(person.phone.slice(-4));
    await check('verify: phone code', 'code');
    const sms = await outbox.waitFor({ to: person.phone, since: mark, what: 'text with a code' });
    mark = await outbox.mark();
    await page.getByLabel(s.verify.code).fill(Outbox.code(sms));
    await page.getByRole('button', { name: s.verify.finish }).click();
    const firstKey = await protectWithPassword(person, 'protect', 'personal-key');

    await heading(s.verify.doneHeading);
    await page.getByRole('status').filter({ hasText: s.verify.verifiedOn }).waitFor();
    await check('verify: done', 'done');
    await outbox.waitFor({ to: person.email, since: mark, what: 'identity verified email' });

    await page.getByRole('link', { name: s.verify.backToAccount }).click();
    await heading(s.account.heading);
    await text(s.verify.verifiedOn);
    await text(s.verify.vault);
    await page.getByRole('button', { name: s.verify.removeData }).waitFor();
    await check('account after verifying');

    // The page a session that signed in without the password gets: the password, then back.
    await page.goto(`${BASE}/verify/unlock`);
    await heading(s.verify.unlockHeading);
    await check('verify: unlock', 'unlock');
    await page.getByLabel(s.verify.password).fill(person.password);
    await page.getByRole('button', { name: s.verify.unlockButton }).click();
    await heading(s.account.heading);
    await check('account after unlocking');
    // A new personal key from the console: the old one stops working.
    await page.getByRole('button', { name: s.verify.newPersonalKey }).click();
    await heading(s.verify.personalKeyHeading);
    const secondKey = (await page.locator('#personal-key').textContent()).trim();
    assert.notEqual(secondKey, firstKey, 'a new personal key');
    await check('verify: new personal key', 'personal-key-new');
    await page.getByRole('button', { name: s.verify.personalKeySaved }).click();
    await heading(s.account.heading);
    await check('account after a new personal key');

    // A password reset locks the verified identity; the personal key restores it. The phone was
    // added at sign-up (in its SIM-swap cooldown, it can't vouch for a reset): backup codes.
    await page.getByRole('button', { name: s.verify.makeBackupCodes }).click();
    await page.locator('ol.codes code').first().waitFor();
    await check('backup codes');
    const codes = await page.locator('ol.codes code').allTextContents();
    const saved = { name: s.verify.backupCodesSaved };
    await page.getByRole('link', saved).or(page.getByRole('button', saved)).click();
    await heading(s.account.heading);
    await check('account with backup codes');
    await page.getByRole('button', { name: s.common.signOut }).click();
    await page.getByRole('button', { name: s.common.signOut }).waitFor({ state: 'detached' });
    await check('signed out');
    await page.goto(`${BASE}/forgot-password`);
    await heading(s.forgot.heading);
    await check('forgot password');
    mark = await outbox.mark();
    await page.getByLabel(s.forgot.email).fill(person.email);
    await page.getByRole('button', { name: s.forgot.submit }).click();
    await text(s.forgot.sent);
    await check('reset link sent');
    const resetMail = await outbox.waitFor({
      to: person.email,
      since: mark,
      accept: (m) => m.links.some((l) => l.includes('/reset-password')),
      what: 'reset email',
    });
    await page.goto(Outbox.link(resetMail, '/reset-password'));
    await page.waitForURL(/\/mfa/);
    await check('reset second factor');
    await page.goto(`${BASE}/mfa?method=backup`);
    await page.getByLabel(s.verify.backupCode).waitFor();
    await check('reset with a backup code');
    await page.getByLabel(s.verify.backupCode).fill(codes[0]);
    await page.getByRole('button', { name: s.verify.mfaContinue }).click();
    await heading(s.newPassword.heading);
    await check('choose a new password');
    const newPassword = `${person.password} reset`;
    await page.getByLabel(s.newPassword.password).fill(newPassword);
    await page.getByLabel(s.newPassword.again).fill(newPassword);
    await page.getByRole('button', { name: s.newPassword.submit }).click();
    await heading(s.newPassword.doneHeading);
    await check('password changed');
    await page.goto(`${BASE}/login`);
    await heading(s.login.heading);
    await check('sign-in after the reset');
    await page.getByLabel(s.login.email).fill(person.email);
    await page.getByLabel(s.login.password).fill(newPassword);
    await page.getByRole('button', { name: s.login.submit }).click();
    await page.waitForURL(/\/mfa/);
    await check('second factor after the reset');
    await page.goto(`${BASE}/mfa?method=backup`);
    await page.getByLabel(s.verify.backupCode).waitFor();
    await check('sign-in with a backup code');
    await page.getByLabel(s.verify.backupCode).fill(codes[1]);
    await page.getByRole('button', { name: s.verify.mfaContinue }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/mfa'));
    await check('signed in after the reset');
    await page.goto(`${BASE}/account`);
    await heading(s.account.heading);
    await text(s.verify.suspended);
    await check('account: identity locked after a reset');
    await page.getByRole('link', { name: s.verify.restoreLink }).click();
    await heading(s.verify.restoreHeading);
    await check('verify: restore with the personal key', 'restore');
    await page.getByLabel(s.verify.personalKey).fill(secondKey.toLowerCase());
    await page.getByLabel(s.verify.password).fill(newPassword);
    await page.getByRole('button', { name: s.verify.restoreButton }).click();
    await heading(s.verify.personalKeyHeading);
    const thirdKey = (await page.locator('#personal-key').textContent()).trim();
    assert.notEqual(thirdKey, secondKey, 'restoring gives a new personal key');
    await check('verify: personal key after restoring', 'personal-key-restored');
    await page.getByRole('button', { name: s.verify.personalKeySaved }).click();
    await heading(s.account.heading);
    await text(s.verify.verifiedOn);
    await text(s.verify.vault);
    await check('account after restoring');
  });
});

test('walk 5b: verify by mail, from a phone not in the name to the code from the letter', async () => {
  // A browser of its own: walk 5's person stays signed in elsewhere.
  const context = await browser.newContext({ viewport: DESKTOP, locale: LANG === 'es' ? 'es-US' : 'en-US' });
  await context.route('**/favicon.ico', (route) => route.fulfill({ status: 204 }));
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  checker = new PageChecker(page, {
    lang: LANG,
    allowText: [SITE_NAME, mailPerson.email, mailPerson.name, mailPerson.address],
  });
  await walk('walk 5b', async () => {
    await signUpWithPhone(mailPerson);
    await heading(s.account.heading);
    await check('account before verifying by mail');
    await page.getByRole('link', { name: s.verify.consoleLink }).click();
    await heading(s.verify.startHeading);
    await check('verify: start (mail)');
    await tick(page.getByLabel(s.verify.consent));
    await page.getByRole('button', { name: s.verify.start }).click();
    await heading(s.verify.documentHeading);
    await check('verify: document (mail)');
    let res = await sendDocument('letter-front.json', 'letter-back.png');
    assert.equal(res.status(), 303, `the licence passes (HTTP ${res.status()})`);
    await heading(s.verify.selfieHeading);
    await check('verify: selfie (mail)');
    await page.getByLabel(s.verify.selfie).setInputFiles(fixture('selfie.jpg'));
    res = await submit(page.getByRole('button', { name: s.verify.continue }), '/verify/selfie');
    assert.equal(res.status(), 303, `the selfie passes (HTTP ${res.status()})`);
    await heading(s.verify.ssnHeading);
    await check('verify: SSN (mail)');
    await page.getByLabel(s.verify.ssn).fill(mailPerson.ssn);
    await page.getByRole('button', { name: s.verify.continue }).click();
    await heading(s.verify.reviewHeading);
    await check('verify: review (mail)');
    await page.getByRole('button', { name: s.verify.verifyButton }).click();

    // The phone step: a number not in their name is refused, and the letter is offered first.
    await heading(s.verify.phoneHeading);
    await check('verify: phone, letter offered after the form', 'phone-letter-below');
    await tick(page.getByLabel(s.verify.phoneOther));
    await page.getByLabel(s.verify.phoneNumber).fill(mailPerson.otherPhoneTyped);
    res = await submit(page.getByRole('button', { name: s.verify.sendCode }), '/verify/phone');
    assert.equal(res.status(), 422, 'a number not in the name is refused');
    expectStatusLog(res);
    await page.getByRole('alert').filter({ hasText: s.verify.notAssociated }).waitFor();
    const letterButton = page.getByRole('button', { name: s.verify.letterRequest });
    assert.equal(await letterButton.count(), 1, 'one letter offer');
    const offerFirst = await page.evaluate(() => {
      const offer = document.querySelector('.letter-offer');
      const form = document.querySelector('form[action="/verify/phone"]');
      return Boolean(offer && form && offer.compareDocumentPosition(form) & Node.DOCUMENT_POSITION_FOLLOWING);
    });
    assert.ok(offerFirst, 'the letter is offered before the phone form');
    await check('verify: phone refused, letter offered first', 'phone-letter-first');

    // "Send me a letter instead".
    await letterButton.click();
    await heading(s.verify.letterHeading);
    await text(s.verify.letterRequested);
    await check('verify: letter requested', 'letter-requested');

    // The operator prints it (the code from the print file) and marks it sent.
    const token = await adminToken();
    let api = await adminCall(token, 'GET', '/proofing/letters');
    assert.equal(api.status, 200, 'letters list');
    const items = (await api.json()).items;
    assert.equal(items.length, 1, 'one letter waits for the printer');
    const letterId = items[0].id;
    api = await adminCall(token, 'GET', '/proofing/letters.csv');
    assert.equal(api.status, 200, 'letters CSV');
    const row = (await api.text()).split('\r\n').find((l) => l.startsWith(`${letterId},`));
    assert.ok(row, 'the letter is in the print file');
    const code = row.split(',')[8];
    assert.match(code, /^[0-9A-Z]{10}$/);
    api = await adminCall(token, 'GET', '/proofing/letters.pdf');
    assert.equal(api.status, 200, 'letters PDF');
    assert.equal(api.headers.get('content-type'), 'application/pdf');
    const mark = await outbox.mark();
    api = await adminCall(token, 'POST', `/proofing/letters/${letterId}/sent`);
    assert.equal(api.status, 200, 'marked sent');
    const mail = await outbox.waitFor({
      to: mailPerson.email,
      since: mark,
      accept: (m) => m.links.some((l) => new URL(l).pathname === '/verify/letter'),
      what: 'letter sent email',
    });
    // The link in the e-mail leads to the code page.
    await page.goto(Outbox.link(mail, '/verify/letter'));
    await heading(s.verify.letterHeading);
    await text(s.verify.letterSent);
    await check('verify: letter sent', 'letter-sent');

    // A wrong code: said so, with the tries left.
    const wrong = code.startsWith('0') ? '1111111111' : '0000000000';
    await page.getByLabel(s.verify.letterCode).fill(wrong);
    res = await submit(page.getByRole('button', { name: s.verify.finish }), '/verify/letter/code');
    assert.equal(res.status(), 422, 'a wrong code is refused');
    expectStatusLog(res);
    await page.getByRole('alert').filter({ hasText: s.verify.letterWrong }).waitFor();
    assert.equal(await page.getByLabel(s.verify.letterCode).getAttribute('aria-invalid'), 'true', 'the field is marked');
    await check('verify: letter code wrong', 'letter-wrong');

    // The right one, typed as printed (in groups, lower case): verified.
    await page.getByLabel(s.verify.letterCode).fill(`${code.slice(0, 5)} ${code.slice(5)}`.toLowerCase());
    res = await submit(page.getByRole('button', { name: s.verify.finish }), '/verify/letter/code');
    assert.equal(res.status(), 303, `the code is accepted (HTTP ${res.status()})`);
    await protectWithPassword(mailPerson, 'letter-protect', 'letter-personal-key');
    await heading(s.verify.doneHeading);
    await page.getByRole('status').filter({ hasText: s.verify.verifiedOn }).waitFor();
    await check('verify: done by mail', 'letter-done');
  });
  await context.close();
});

test('walk 5c: verification with an agent by video, after the online check failed', async () => {
  const context = await browser.newContext({ viewport: DESKTOP, locale: LANG === 'es' ? 'es-US' : 'en-US' });
  await context.route('**/favicon.ico', (route) => route.fulfill({ status: 204 }));
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  checker = new PageChecker(page, { lang: LANG, allowText: [SITE_NAME, agentPerson.email] });
  await walk('walk 5c', async () => {
    await signUpWithPhone(agentPerson);
    await heading(s.account.heading);
    await check('account before verifying with an agent');
    await page.getByRole('link', { name: s.verify.consoleLink }).click();
    await heading(s.verify.startHeading);
    await check('verify: start (agent)');
    await tick(page.getByLabel(s.verify.consent));
    await page.getByRole('button', { name: s.verify.start }).click();
    await heading(s.verify.documentHeading);
    await check('verify: document (agent)');
    // The licence is refused online; the page offers an agent.
    const res = await sendDocument('expired-front.json', 'expired-back.png');
    assert.equal(res.status(), 422, 'the expired licence is refused');
    expectStatusLog(res);
    await page.getByRole('alert').filter({ hasText: s.verify.expired }).waitFor();
    await check('verify: document refused, agent offered', 'agent-offer');
    await page.getByRole('link', { name: s.verify.agentOffer }).click();
    await heading(s.verify.agentHeading);
    await check('verify: ask for an agent', 'agent');
    await tick(page.getByLabel(s.verify.agentQueue));
    await tick(page.getByLabel(s.verify.agentConsent));
    await page.getByRole('button', { name: s.verify.agentSubmit }).click();
    await heading(s.verify.agentCaseHeading);
    await text(s.verify.agentQueued);
    const code = (await page.locator('#continuation-code').textContent()).trim();
    await check('verify: waiting for an agent', 'agent-case');

    // The agent: their own Verity account (password and phone), which an operator links to a
    // registered agent through the management API; then the agent desk Verity serves.
    const personPage = page;
    const personChecker = checker;
    const agentContext = await browser.newContext({ viewport: DESKTOP, locale: LANG === 'es' ? 'es-US' : 'en-US' });
    await agentContext.route('**/favicon.ico', (route) => route.fulfill({ status: 204 }));
    page = await agentContext.newPage();
    page.setDefaultTimeout(15_000);
    checker = new PageChecker(page, { lang: LANG, allowText: [SITE_NAME, deskAgent.email, 'E2E Agent'] });
    await signUpWithPhone(deskAgent);
    await heading(s.account.heading);
    await check('the agent\'s account');
    const token = await adminToken('verity:admin:referee verity:admin:users:read');
    let api = await adminCall(token, 'GET', `/users?email=${encodeURIComponent(deskAgent.email)}`);
    assert.equal(api.status, 200, 'the agent\'s account');
    const agentUser = (await api.json()).items[0].id;
    api = await adminCall(token, 'POST', '/referee/agents', {
      name: 'E2E Agent',
      email: 'agent@operator.example',
      certified_until: '2099-12-31',
      user_id: agentUser,
    });
    assert.equal(api.status, 200, `agent registered: ${await api.clone().text()}`);
    api = await adminCall(token, 'GET', '/referee/cases');
    assert.equal(api.status, 200, 'the queue');
    const cases = (await api.json()).cases;
    assert.equal(cases.length, 1, 'one case waits');
    const caseId = cases[0].id;

    await page.goto(`${BASE}/referee`);
    await heading(s.verify.deskHeading);
    await check('agent desk', 'desk');
    await page.locator(`tr[data-case="${caseId}"]`).getByRole('button', { name: s.verify.deskClaim }).click();
    await heading(s.verify.deskCaseHeading);
    await check('agent desk: a claimed case, before the call', 'desk-case');
    // On the call: the code the person reads out, then what the agent checked.
    await page.getByLabel(s.verify.deskCode).fill(code);
    await tick(page.getByLabel(s.verify.deskDocumentShown));
    await tick(page.getByLabel(s.verify.deskFaceMatches));
    await page.getByRole('button', { name: s.verify.deskSave }).click();
    await page.getByRole('status').filter({ hasText: s.verify.deskSaved }).waitFor();
    await text(s.verify.deskCodeMatched);
    await check('agent desk: on the call', 'desk-call');
    // The decision, with what they read from the licence on camera (the online check read none).
    await tick(page.getByLabel(s.verify.deskVerified));
    await page.getByLabel(s.verify.deskWhy).fill('Licence shown on camera, face matches.');
    await page.getByLabel(s.verify.deskDocument, { exact: true }).selectOption('driving_permit');
    await page.getByLabel(s.verify.deskGiven, { exact: true }).fill('Ana');
    await page.getByLabel(s.verify.deskFamily, { exact: true }).fill('Agente');
    await page.getByLabel(s.verify.deskBirthdate).fill('1980-02-03');
    await page.getByLabel(s.verify.deskNumber).fill('E2E71234');
    await page.getByLabel(s.verify.deskExpiry).fill('2034-01-01');
    await page.getByLabel(s.verify.deskIssuer).fill('MT');
    await page.getByLabel(s.verify.deskSsn).fill('900-71-4321');
    const mark = await outbox.mark();
    await page.getByRole('button', { name: s.verify.deskDecide }).click();
    await page.getByRole('status').filter({ hasText: s.verify.deskDone }).waitFor();
    await check('agent desk: decided', 'desk-done');
    await outbox.waitFor({ to: agentPerson.email, since: mark, what: 'finish with your password email' });
    if (checker.unchecked) checker.missed.push(checker.unchecked);
    const agentProblems = checker.report();
    assert.ok(agentProblems === '', `the agent desk: the page checks found problems:\n${agentProblems}`);
    await agentContext.close();
    page = personPage;
    checker = personChecker;

    // The person finishes with their password, as online.
    await page.goto(`${BASE}/verify`);
    await protectWithPassword(agentPerson, 'agent-protect', 'agent-personal-key');
    await heading(s.verify.doneHeading);
    await page.getByRole('status').filter({ hasText: s.verify.verifiedOn }).waitFor();
    await check('verify: done with an agent', 'agent-done');
  });
  await context.close();
});
