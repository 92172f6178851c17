// What every page the walks visit must pass: axe-core finds no WCAG 2.1 A/AA violation, nothing
// scrolls sideways at 390 px wide, the browser reports no CSP violation or script error, and (for
// a language other than English) no English is left. Problems are collected, with a screenshot
// each, so one run names every failing page instead of stopping at the first.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { englishCatalogue } from '../strings.js';

const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve('axe-core/axe.min.js');
const AXE_SOURCE = readFileSync(AXE_PATH, 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

export const DESKTOP = { width: 1280, height: 900 };
export const NARROW = { width: 390, height: 844 };

let artifactsDir = process.env.E2E_ARTIFACTS || '';
/** Where screenshots go: $E2E_ARTIFACTS, else a new temporary directory. */
export function artifacts() {
  if (!artifactsDir) artifactsDir = mkdtempSync(path.join(tmpdir(), 'verity-e2e-'));
  return artifactsDir;
}
let shotCount = 0;
export async function screenshot(page, name) {
  shotCount += 1;
  const file = path.join(artifacts(), `${String(shotCount).padStart(2, '0')}-${name.replace(/[^\w.-]+/g, '_')}.png`);
  try {
    await page.screenshot({ path: file, fullPage: true });
    return file;
  } catch (err) {
    return `(no screenshot: ${err.message.split('\n')[0]})`;
  }
}

/**
 * Injects axe-core and runs it. The pages send `Content-Security-Policy: default-src 'self'`,
 * which refuses the inline <script> that page.addScriptTag({path}) adds ("Executing inline script
 * violates ..."); the source is evaluated through the DevTools protocol instead, which the page's
 * CSP doesn't govern. The walks so keep the real CSP (no bypassCSP) and notice a page breaking it.
 */
export async function runAxe(page) {
  const loaded = await page.evaluate(() => typeof window.axe === 'object');
  if (!loaded) await page.evaluate(AXE_SOURCE);
  return page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
    AXE_TAGS,
  );
}

/** scrollWidth against clientWidth at 390 px, naming the deepest elements that stick out. */
export async function narrowOverflow(page) {
  const before = page.viewportSize() || DESKTOP;
  await page.setViewportSize(NARROW);
  try {
    return await page.evaluate(() => {
      const root = document.documentElement;
      const clientWidth = root.clientWidth;
      const scrollWidth = root.scrollWidth;
      if (scrollWidth <= clientWidth) return null;
      const sticksOut = (el) => el.getBoundingClientRect().right > clientWidth + 0.5;
      const describe = (el) => {
        let s = el.tagName.toLowerCase();
        if (el.id) s += `#${el.id}`;
        if (el.classList.length) s += `.${[...el.classList].join('.')}`;
        const text = (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 40);
        return `${s} (right edge ${Math.round(el.getBoundingClientRect().right)} px${text ? `, "${text}"` : ''})`;
      };
      const offenders = [...document.body.querySelectorAll('*')].filter(
        (el) => sticksOut(el) && ![...el.children].some(sticksOut),
      );
      return { clientWidth, scrollWidth, offenders: offenders.slice(0, 5).map(describe) };
    });
  } finally {
    await page.setViewportSize(before);
  }
}

// Words that are English and not also Spanish (so "no", "me", "a", "de" are left out).
const COMMON_ENGLISH = new Set(
  `the and you your yours with this that these those for from have has had are was were will would
  we our us it its it's don't can't isn't won't we'll we've you'll you're i'm there here what when
  where which who how why not been being be is to of or by on at if an all any more some only once
  again new back next continue cancel change changed password account sign signed in out up email
  phone number code codes send sent confirm confirmed help support terms service step enter add
  added remove removed make use used using try wait please days minutes hours now later yes skip
  allow deny choose create reset forgot lost keep check text message call app authenticator
  security link open opened receipt updated`.split(/\s+/).filter(Boolean),
);

/**
 * The visible text of a page (and its title, alt texts, labels and placeholders) that still
 * looks English: it contains a string of the English catalogue, or several common English words,
 * or is a short label made of them. `allow` lists strings to ignore (the site name, the person's
 * email address, the relying party's name).
 */
export async function englishLeft(page, { allow = [] } = {}) {
  const texts = await page.evaluate(() => {
    const out = [document.title];
    const skip = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'CODE', 'PRE', 'TEMPLATE']);
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!el || skip.has(el.tagName) || el.closest('[translate="no"]')) continue;
      // Visible, or read to screen readers (a visually hidden label still speaks English).
      const hiddenFromAll = el.closest('[hidden], [aria-hidden="true"]') || getComputedStyle(el).display === 'none';
      if (hiddenFromAll) continue;
      out.push(node.textContent);
    }
    for (const el of document.querySelectorAll('[alt], [aria-label], [placeholder], [title], input[type=submit][value], input[type=button][value]')) {
      for (const attr of ['alt', 'aria-label', 'placeholder', 'title', 'value']) {
        if (el.hasAttribute(attr) && (attr !== 'value' || ['submit', 'button'].includes(el.type))) out.push(el.getAttribute(attr));
      }
    }
    return out;
  });
  // Whole words only: "Confirm" is English, "Confirmar" isn't.
  const catalogue = englishCatalogue()
    .filter((s) => s.length >= 4)
    .map((s) => ({
      text: s.toLowerCase(),
      re: new RegExp(`(^|[^\\p{L}])${s.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\p{L}])`, 'u'),
    }));
  const allowed = allow.filter(Boolean).map((s) => s.toLowerCase());
  const found = [];
  const seen = new Set();
  for (const raw of texts) {
    const text = (raw || '').replace(/\s+/g, ' ').replace(/[\u2018\u2019]/g, "'").trim();
    if (!text) continue;
    let lower = text.toLowerCase();
    for (const a of allowed) lower = lower.split(a).join(' ');
    // Email addresses, URLs and numbers aren't language.
    lower = lower.replace(/\S+@\S+/g, ' ').replace(/https?:\/\/\S+/g, ' ');
    const words = lower.match(/\p{L}+(?:'\p{L}+)?/gu) || [];
    if (!words.length) continue;
    const hit = catalogue.find((c) => c.re.test(lower))?.text;
    const common = new Set(words.filter((w) => COMMON_ENGLISH.has(w)));
    let why = null;
    if (hit) why = `catalogue string "${hit}"`;
    else if (common.size >= 2) why = `English words: ${[...common].slice(0, 5).join(', ')}`;
    else if (common.size === 1 && words.length <= 2) why = `English label: ${[...common][0]}`;
    if (why && !seen.has(text)) {
      seen.add(text);
      found.push({ text: text.slice(0, 120), why });
    }
  }
  return found;
}

/** Fails when English is left on a page that should be in another language. */
export async function assertNoEnglish(page, options = {}) {
  const left = await englishLeft(page, options);
  if (left.length) {
    throw new Error(
      `English left on ${page.url()}:\n${left.map((l) => `  - "${l.text}" (${l.why})`).join('\n')}`,
    );
  }
}

/**
 * Watches one browser page: every document it loads must be checked (`check`) before the next
 * one loads, or the walk missed a page. Findings are kept for the report.
 */
export class PageChecker {
  constructor(page, { lang = 'en', ignoreOrigins = [], allowText = [], screenshots = true } = {}) {
    this.page = page;
    this.shoot = screenshots ? (name) => screenshot(page, name) : async () => '(not taken)';
    this.lang = lang;
    this.allowText = allowText;
    this.findings = [];
    this.checked = [];
    this.unchecked = null;
    this.missed = [];
    this.browserErrors = [];
    page.on('framenavigated', (frame) => {
      if (frame !== page.mainFrame()) return;
      const url = frame.url();
      if (ignoreOrigins.some((o) => url.startsWith(o)) || url === 'about:blank') return;
      if (this.unchecked) this.missed.push(this.unchecked);
      this.unchecked = url;
    });
    // Errors count on the pages under test, not on the relying party's.
    const ours = () => !ignoreOrigins.some((o) => page.url().startsWith(o));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && ours()) this.browserErrors.push(`${page.url()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => {
      if (ours()) this.browserErrors.push(`${page.url()}: ${err.message}`);
    });
    page.on('response', (res) => {
      if (res.request().resourceType() === 'document' && res.status() >= 500) {
        this.browserErrors.push(`${res.url()}: HTTP ${res.status()}`);
      }
    });
  }

  /** Runs every check on the page now shown; `name` labels it in the report. */
  async check(name) {
    const page = this.page;
    await page.waitForLoadState('load');
    const where = `${name} (${new URL(page.url()).pathname})`;
    this.unchecked = null;
    this.checked.push(where);
    const axe = await runAxe(page);
    if (axe.violations.length) {
      const file = await this.shoot(`${name}-axe`);
      for (const v of axe.violations) {
        this.findings.push({
          page: where,
          kind: 'axe',
          detail: `${v.id} (${v.impact}): ${v.help}; ${v.nodes.length} element(s): ${v.nodes
            .slice(0, 3)
            .map((n) => n.target.join(' '))
            .join(', ')}`,
          screenshot: file,
        });
      }
    }
    const overflow = await narrowOverflow(page);
    if (overflow) {
      await page.setViewportSize(NARROW);
      const file = await this.shoot(`${name}-390px`);
      await page.setViewportSize(DESKTOP);
      this.findings.push({
        page: where,
        kind: 'overflow at 390 px',
        detail: `scrollWidth ${overflow.scrollWidth} > clientWidth ${overflow.clientWidth}; sticking out: ${overflow.offenders.join('; ')}`,
        screenshot: file,
      });
    }
    if (this.lang !== 'en') {
      const left = await englishLeft(page, { allow: this.allowText });
      if (left.length) {
        const file = await this.shoot(`${name}-english`);
        this.findings.push({
          page: where,
          kind: 'English left',
          detail: left.map((l) => `"${l.text}" (${l.why})`).join('; '),
          screenshot: file,
        });
      }
    }
  }

  /** Everything found so far, as one readable block (empty when all passed). */
  report() {
    const lines = [];
    for (const f of this.findings) {
      lines.push(`  ✗ ${f.page} — ${f.kind}: ${f.detail}`);
      if (f.screenshot) lines.push(`      screenshot: ${f.screenshot}`);
    }
    for (const url of this.missed) lines.push(`  ✗ a page was visited but never checked: ${url}`);
    for (const e of this.browserErrors) lines.push(`  ✗ browser error: ${e}`);
    return lines.join('\n');
  }
}
