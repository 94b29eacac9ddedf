import { randomBytes } from 'node:crypto';

const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID (26 characters of Crockford base32: 48-bit milliseconds, then 80 random bits), the id format
 * OpenFGA uses for stores and models. Ids made later sort after earlier ones, to the millisecond;
 * within one millisecond this process keeps them increasing too.
 */
let lastTime = -1;
let lastRandom: Buffer = Buffer.alloc(10);

export function ulid(now = Date.now()): string {
  let random: Buffer;
  if (now <= lastTime) {
    random = Buffer.from(lastRandom);
    for (let i = random.length - 1; i >= 0; i--) {
      random[i] = (random[i]! + 1) & 0xff;
      if (random[i] !== 0) break;
    }
    now = lastTime;
  } else {
    random = randomBytes(10);
  }
  lastTime = now;
  lastRandom = random;
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = alphabet[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  let bits = 0n;
  for (const byte of random) bits = (bits << 8n) | BigInt(byte);
  let rand = '';
  for (let i = 0; i < 16; i++) {
    rand = alphabet[Number(bits & 31n)]! + rand;
    bits >>= 5n;
  }
  return time + rand;
}

export const ulidPattern = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
