// The dev outbox (/dev/outbox, dev mode only): every email, text and call Verity "sent". Read in a
// browser page of its own, so the walk's page stays where it is. Some notices are sent from a
// detached task after the page has answered, so reading waits for the message to appear.
// (The outbox is a developer's page, not one people see: the page checks don't run on it.)

export class Outbox {
  constructor(context, base) {
    this.context = context;
    this.base = base;
    this.page = null;
  }

  /** Every message on the outbox page, newest first. */
  async messages() {
    if (!this.page) this.page = await this.context.newPage();
    const res = await this.page.goto(`${this.base}/dev/outbox`);
    if (!res || !res.ok()) throw new Error(`the dev outbox answered ${res && res.status()}`);
    return this.page.evaluate(() =>
      [...document.querySelectorAll('article')].map((article) => {
        const heading = article.querySelector('h1, h2, h3, h4');
        const meta = article.querySelector('.meta') || article.querySelector('p');
        const body = article.querySelector('pre');
        return {
          subject: heading ? heading.textContent.trim() : '',
          meta: meta ? meta.textContent.replace(/\s+/g, ' ').trim() : '',
          body: body ? body.textContent : article.textContent,
          links: [...article.querySelectorAll('a[href]')].map((a) => a.href),
        };
      }),
    );
  }

  /** A mark of what is in the outbox now; `waitFor` then looks only at what came after it. */
  async mark() {
    return new Set((await this.messages()).map(key));
  }

  /**
   * The newest message to `to` (an email address or an E.164 number) that arrived after `since`
   * and satisfies `accept`, waiting up to `timeoutMs` for it.
   */
  async waitFor({ to, since = new Set(), accept = () => true, what = 'a message', timeoutMs = 10_000 }) {
    const deadline = Date.now() + timeoutMs;
    let seen = [];
    for (;;) {
      seen = (await this.messages()).filter((m) => !since.has(key(m)));
      const found = seen.find((m) => recipientIs(m, to) && accept(m));
      if (found) return found;
      if (Date.now() > deadline) {
        const list = seen.map((m) => `    - ${m.meta} | ${m.subject}`).join('\n') || '    (none)';
        throw new Error(`no ${what} to ${to} in the dev outbox within ${timeoutMs} ms; new messages:\n${list}`);
      }
      await this.page.waitForTimeout(200);
    }
  }

  /** A link in a message whose path starts with `pathPrefix`. */
  static link(message, pathPrefix) {
    const link = message.links.find((l) => new URL(l).pathname.startsWith(pathPrefix));
    if (!link) throw new Error(`no ${pathPrefix} link in "${message.subject}":\n${message.body}`);
    return link;
  }

  /** The 6-digit code in a text message. */
  static code(message) {
    const m = message.body.match(/\b(\d{6})\b/);
    if (!m) throw new Error(`no 6-digit code in "${message.subject}": ${message.body}`);
    return m[1];
  }
}

const key = (m) => `${m.meta}\n${m.subject}\n${m.body}`;
const recipientIs = (m, to) => new RegExp(`(^|\\s)${to.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s|$)`).test(m.meta);
