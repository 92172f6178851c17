// RFC 6238 time-based codes (HMAC-SHA1, 6 digits, 30 s steps), as an authenticator app makes them
// from the key the enrolment page shows. Verity accepts each step once per app, so the walk keeps
// the last step it used and never hands out a step twice.
import { createHmac } from 'node:crypto';

const STEP_SECS = 30;
const DIGITS = 6;

/** RFC 4648 base32 (the key as shown; spaces, hyphens and padding are ignored). */
export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.toUpperCase().replace(/[\s=-]/g, '');
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const index = alphabet.indexOf(ch);
    if (index < 0) throw new Error(`not base32: ${JSON.stringify(ch)} in the key ${JSON.stringify(text)}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** RFC 4226 HOTP for one counter value. */
export function hotp(secret, counter, digits = DIGITS) {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', secret).update(message).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

export function currentStep(nowMs = Date.now()) {
  return Math.floor(nowMs / 1000 / STEP_SECS);
}

/**
 * An authenticator app for one key. `nextCode()` gives a code for a step that hasn't been used
 * yet, the lowest of: the previous step (the server accepts one step of skew either way; only
 * while at least `MARGIN_MS` of the current step is left, so it can't go stale on the way),
 * the current one, the next one. When all three are used up it waits for the clock to reach a
 * usable step instead of guessing.
 */
const MARGIN_MS = 5_000;
export class Authenticator {
  constructor(keyText) {
    this.secret = base32Decode(keyText);
    this.lastStep = -1;
  }

  async nextCode() {
    for (;;) {
      const now = Date.now();
      const cur = currentStep(now);
      const leftInStep = (cur + 1) * STEP_SECS * 1000 - now;
      const candidates = [...(leftInStep >= MARGIN_MS ? [cur - 1] : []), cur, cur + 1];
      const step = candidates.find((c) => c > this.lastStep);
      if (step !== undefined) {
        this.lastStep = step;
        return hotp(this.secret, step);
      }
      // Every usable step is taken: the next one becomes usable when the current step ends.
      await new Promise((resolve) => setTimeout(resolve, leftInStep + 50));
    }
  }
}
