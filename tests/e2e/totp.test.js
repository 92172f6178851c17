// The walks' authenticator app against RFC 6238's own test vectors (appendix B, SHA-1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { base32Decode, hotp, Authenticator, currentStep } from './lib/totp.js';

test('RFC 6238 SHA-1 test vectors', () => {
  const secret = base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
  assert.equal(secret.toString(), '12345678901234567890');
  const vectors = [
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ];
  for (const [time, code] of vectors) assert.equal(hotp(secret, Math.floor(time / 30), 8), code, `T=${time}`);
});

test('the app never hands out a step twice and stays within one step of now', async () => {
  const app = new Authenticator('GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ');
  const codes = new Set();
  let previous = -1;
  for (let i = 0; i < 3; i += 1) {
    codes.add(await app.nextCode());
    assert.ok(app.lastStep > previous, 'each code is for a later step');
    assert.ok(Math.abs(app.lastStep - currentStep()) <= 1, 'within the skew the server accepts');
    previous = app.lastStep;
  }
  assert.equal(codes.size, 3);
});
