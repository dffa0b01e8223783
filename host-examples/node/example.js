#!/usr/bin/env node
// Scans an NDJSON file with snowyowl and prints a summary; findings go to stdout as NDJSON with
// --ndjson.   node example.js ../../tests/data/midnight-blizzard.ndjson [--ndjson]
import { createReadStream } from 'node:fs';
import { createEngine } from './index.js';

const [file, flag] = process.argv.slice(2);
if (!file || file === '--help') {
  console.error('usage: node example.js FILE.ndjson [--ndjson]');
  process.exit(file ? 0 : 2);
}

const engine = createEngine({});
const findings = [];
let rejected = 0;
let pending = Buffer.alloc(0);
let line = 0;

function push(bytes) {
  const pushed = engine.push(bytes);
  findings.push(...pushed.findings);
  for (const r of pushed.rejected) {
    rejected += 1;
    if (rejected <= 10) console.error(`${file}:${line + r.line}: ${r.kind}: ${r.reason}`);
  }
  for (const b of bytes) if (b === 10) line += 1;
}

for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) {
  const data = Buffer.concat([pending, chunk]);
  const end = data.lastIndexOf(10);
  if (end < 0) {
    pending = data;
    continue;
  }
  push(data.subarray(0, end + 1));
  pending = data.subarray(end + 1);
}
if (pending.length > 0) push(pending);
findings.push(...engine.flush());

if (flag === '--ndjson') {
  for (const f of findings) process.stdout.write(f.json + '\n');
} else {
  const by = new Map();
  for (const f of findings) by.set(`${f.severity.padEnd(8)} ${f.detector}`, (by.get(`${f.severity.padEnd(8)} ${f.detector}`) ?? 0) + 1);
  const stats = engine.stats();
  console.log(`${stats.records} records, ${stats.accepted} events, ${rejected} rejected, ${findings.length} findings`);
  for (const [key, count] of [...by].sort()) console.log(`  ${String(count).padStart(4)}  ${key}`);
  const chain = findings.filter((f) => f.detector === 'attack-chain').at(-1);
  if (chain) console.log(`\n${chain.ocsf.finding_info.title}\n  ${chain.ocsf.message}`);
}
