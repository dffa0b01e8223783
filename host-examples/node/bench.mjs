// make bench: the component through jco on a file, timed (load and compile excluded).
// node --single-threaded-gc bench.mjs FILE  → one JSON line {events, bytes, seconds, findings}
import { openSync, readSync, closeSync, statSync } from 'node:fs';
import { createEngine } from './index.js';

const file = process.argv[2];
const engine = createEngine({}, { seed: 12345n });
const fd = openSync(file, 'r');
const chunk = Buffer.alloc(16 << 20);
let carry = Buffer.alloc(0);
let events = 0;
let findings = 0;
const start = process.hrtime.bigint();
for (;;) {
  const read = readSync(fd, chunk, 0, chunk.length, null);
  const data = read > 0 ? Buffer.concat([carry, chunk.subarray(0, read)]) : carry;
  const end = read > 0 ? data.lastIndexOf(10) + 1 : data.length;
  if (end > 0) {
    const pushed = engine.push(data.subarray(0, end));
    events += pushed.accepted + pushed.ignored + pushed.rejected.length;
    findings += pushed.findings.length;
  }
  carry = Buffer.from(data.subarray(end));
  if (read === 0) break;
}
findings += engine.flush().length;
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
closeSync(fd);
console.log(JSON.stringify({ mode: 'node', events, bytes: statSync(file).size, seconds, findings }));
