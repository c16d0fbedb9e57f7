/**
 * Message ids: UUID version 7 (RFC 9562 §5.7), a 48-bit Unix time in milliseconds followed by
 * random bits. Still a UUID in the 8-4-4-4-12 form, so every contract that takes an id (any
 * string of 1–200 characters) accepts it, but ids made one after another sort one after
 * another. The orchestrator names runs and tasks with it, and the TypeScript worker SDK names
 * the next link of a chain with it (protocol §7.2 recommends time-ordered ids): the store's
 * indexes keyed by a task id (tasks' and attempts' primary keys) then take each new entry at
 * their right edge instead of on a random page, so a commit writes fewer pages (SQLite: 3.2 →
 * 1.5 WAL pages per chain link in a group commit of 16 runs, tools/bench/orchestrator/
 * sqlite-pages.ts), and on PostgreSQL fewer full-page writes after each checkpoint.
 *
 * Within one process ids are strictly increasing: the 12 bits after the version count ids made
 * in the same millisecond (RFC 9562 §6.2, method 1), starting from a random value below 2,048 so
 * that the counter cannot run out before 2,048 ids in one millisecond; past that the timestamp
 * moves on by one (ids stay ordered, at most a few milliseconds ahead of the clock). The other
 * 62 bits are random (Web Crypto's getRandomValues, global in Node 20 and browsers, taken in
 * blocks: one call per 512 ids). Node 20 has no v7 generator of its own, and the `uuid` package
 * in node_modules is 8.3 (v7 arrived in 10), a dependency of a dependency; twenty lines here
 * cost less than a new one. The Python SDK has the same generator (conveyor_worker/ids.py).
 */
export function uuidv7(): string {
  let now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    counter = randomByte() * 8; // 0 … 2,040: at least 2,055 more ids in this millisecond
  } else if (++counter > 0xfff) {
    lastMs++;
    counter = 0;
  }
  now = lastMs;
  const o = take8();
  const b = pool;
  const high = Math.floor(now / 0x10000); // top 32 bits of the 48-bit timestamp
  const low = now % 0x10000; // bottom 16 bits
  return (
    `${high.toString(16).padStart(8, '0')}-${low.toString(16).padStart(4, '0')}-` +
    `7${counter.toString(16).padStart(3, '0')}-` +
    // Variant 10 in the top bits of byte 8; 62 random bits from there on.
    `${HEX[((b[o] ?? 0) & 0x3f) | 0x80]}${HEX[b[o + 1] ?? 0]}-` +
    `${HEX[b[o + 2] ?? 0]}${HEX[b[o + 3] ?? 0]}${HEX[b[o + 4] ?? 0]}` +
    `${HEX[b[o + 5] ?? 0]}${HEX[b[o + 6] ?? 0]}${HEX[b[o + 7] ?? 0]}`
  );
}

/** The millisecond an id was made (its first 48 bits), for tests and diagnostics. */
export function uuidv7Millis(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The millisecond of the last id (may run ahead of Date.now() by the counter's overflows). */
let lastMs = 0;
let counter = 0;

const pool = new Uint8Array(4096);
let poolOffset = pool.length;

/** Offset in `pool` of 8 fresh random bytes. */
function take8(): number {
  if (poolOffset + 8 > pool.length) {
    globalThis.crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const offset = poolOffset;
  poolOffset += 8;
  return offset;
}

function randomByte(): number {
  return pool[take8()] ?? 0; // spends 8 bytes for 1: once per millisecond at most
}
