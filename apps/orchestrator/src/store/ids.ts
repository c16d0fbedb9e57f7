import { randomFillSync } from 'node:crypto';

/**
 * Run and task ids: UUID version 7 (RFC 9562 §5.7), a 48-bit Unix time in milliseconds followed
 * by random bits. Still a UUID in the 8-4-4-4-12 form, so the protocol (any string id), the
 * contracts and every stored id stay valid, but ids made one after another sort one after
 * another: a new run's or task's entry goes to the right edge of the indexes keyed by it (the
 * primary keys, tasks (run_id, step, item_index), attempts (task_id, attempt) and (run_id))
 * instead of a random page of each. In a database larger than SQLite's page cache a random
 * entry first reads its page back; on PostgreSQL every random leaf is one more page to write
 * to the WAL after each checkpoint (full-page writes). Runs and tasks made together also share
 * index pages, so a group commit (results-intake.ts) writes fewer of them.
 *
 * Within one process ids are strictly increasing: the 12 bits after the version count ids made
 * in the same millisecond (RFC 9562 §6.2, method 1), starting from a random value below 2,048 so
 * that the counter cannot run out before 2,048 ids in one millisecond; past that the timestamp
 * moves on by one (ids stay ordered, at most a few milliseconds ahead of the clock). The other
 * 62 bits are random (crypto.randomFillSync, taken in blocks: one system call per 512 ids).
 * Node 20 has no v7 generator of its own, and the `uuid` package in node_modules is 8.3 (v7
 * arrived in 10), a dependency of a dependency; twenty lines here cost less than a new one.
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
  const b = take8();
  const high = Math.floor(now / 0x10000); // top 32 bits of the 48-bit timestamp
  const low = now % 0x10000; // bottom 16 bits
  return (
    `${high.toString(16).padStart(8, '0')}-${low.toString(16).padStart(4, '0')}-` +
    `7${counter.toString(16).padStart(3, '0')}-` +
    // Variant 10 in the top bits of byte 8; 62 random bits from there on.
    `${HEX[((b[0] ?? 0) & 0x3f) | 0x80]}${HEX[b[1] ?? 0]}-` +
    `${HEX[b[2] ?? 0]}${HEX[b[3] ?? 0]}${HEX[b[4] ?? 0]}${HEX[b[5] ?? 0]}${HEX[b[6] ?? 0]}${HEX[b[7] ?? 0]}`
  );
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The millisecond of the last id (may run ahead of Date.now() by the counter's overflows). */
let lastMs = 0;
let counter = 0;

const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function take8(): Buffer {
  if (poolOffset + 8 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + 8);
  poolOffset += 8;
  return bytes;
}

function randomByte(): number {
  return take8()[0] ?? 0; // spends 8 bytes for 1: once per millisecond at most
}
