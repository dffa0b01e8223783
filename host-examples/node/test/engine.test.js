// The Node host against the real component (dist/, transpiled from build/snowyowl.wasm).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createEngine, restoreEngine, randomSeed, SnowyowlError } from '../index.js';
import { engine as wit } from '../dist/snowyowl.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const scenarioPath = `${root}tests/data/midnight-blizzard.ndjson`;
const scenario = readFileSync(scenarioPath);
const cli = `${root}target/release/snowyowl`;

const sorted = (findings) => findings.map((f) => f.json).sort();

function run(engine, bytes, linesPerBatch) {
  const lines = bytes.toString('utf8').split('\n');
  const findings = [];
  for (let i = 0; i < lines.length; i += linesPerBatch) {
    const pushed = engine.push(lines.slice(i, i + linesPerBatch).join('\n'));
    assert.deepEqual(pushed.rejected, []);
    findings.push(...pushed.findings);
  }
  findings.push(...engine.flush());
  return findings;
}

test('finds exactly what the CLI finds on the same file', { skip: !existsSync(cli) && 'build the CLI first (make build)' }, () => {
  const expected = execFileSync(cli, ['scan', '--quiet', scenarioPath], { maxBuffer: 64 << 20 })
    .toString()
    .split('\n')
    .filter(Boolean)
    .sort();
  const engine = createEngine({});
  const pushed = engine.push(scenario);
  assert.equal(pushed.accepted, scenario.toString().split('\n').filter(Boolean).length);
  const findings = [...pushed.findings, ...engine.flush()];
  assert.deepEqual(sorted(findings), expected);
  const detectors = new Set(findings.map((f) => f.detector));
  for (const d of ['distributed-password-spray', 'spray-then-success', 'oauth-high-privilege-grant', 'attack-chain']) {
    assert.ok(detectors.has(d), d);
  }
  const chain = findings.filter((f) => f.detector === 'attack-chain').at(-1);
  assert.equal(chain.severity, 'critical');
  assert.equal(chain.ocsf.class_uid, 2004);
  assert.equal(typeof chain.time, 'number');
  assert.equal(chain.tenant, '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
  assert.equal(chain.ocsf.cloud.account.uid, chain.tenant);
});

test('batching does not change the findings', () => {
  const whole = run(createEngine({}, { seed: 1 }), scenario, 1e9);
  const small = run(createEngine({}, { seed: 2n ** 64n - 1n }), scenario, 97);
  assert.ok(whole.length > 10);
  assert.deepEqual(sorted(small), sorted(whole));
});

test('a snapshot carries open windows across a restart', () => {
  const lines = scenario.toString('utf8').split('\n');
  const half = Math.floor(lines.length / 2);
  const first = createEngine({});
  const before = first.push(lines.slice(0, half).join('\n')).findings;
  const snapshot = first.snapshot();
  assert.ok(snapshot instanceof Uint8Array && snapshot.length > 0);
  const second = restoreEngine({}, snapshot);
  const after = [...second.push(lines.slice(half).join('\n')).findings, ...second.flush()];
  assert.deepEqual(sorted([...before, ...after]), sorted(run(createEngine({}), scenario, 1e9)));
});

test('bad lines are reported with line and reason, the rest is read', () => {
  const engine = createEngine({});
  const lines = scenario.toString('utf8').split('\n').slice(0, 20);
  lines.splice(3, 0, '{"broken": ');
  lines.splice(7, 0, '"just a string"');
  const pushed = engine.push(lines.join('\n'));
  assert.equal(pushed.accepted, 20);
  assert.deepEqual(
    pushed.rejected.map((r) => [r.line, r.kind]),
    [[4, 'malformed'], [8, 'not-an-object']],
  );
  assert.match(pushed.rejected[0].reason, /EOF|end/i);
});

test('an invalid config is refused, naming the field', () => {
  assert.throws(
    () => createEngine({ detectors: { 'password-spray': { min_users: 'many' } } }),
    (error) => error instanceof SnowyowlError && error.kind === 'invalid-config' && /min_users/.test(error.message),
  );
  assert.throws(() => createEngine('{not json'), SnowyowlError);
  assert.throws(
    () => restoreEngine({}, new Uint8Array([1, 2, 3])),
    (error) => error instanceof SnowyowlError && error.kind === 'invalid-snapshot',
  );
});

test('every engine gets a fresh 64-bit seed, passed to the component', (t) => {
  // What the wrapper hands the component's create and restore.
  const passed = [];
  for (const name of ['create', 'restore']) {
    const original = wit.Engine[name];
    t.after(() => {
      wit.Engine[name] = original;
    });
    wit.Engine[name] = (...args) => {
      passed.push([name, args.at(-1)]);
      return original(...args);
    };
  }
  const engines = [createEngine(), createEngine({})];
  engines.push(restoreEngine({}, engines[0].snapshot()));
  engines.push(createEngine({}, { seed: 7 }), restoreEngine('', engines[0].snapshot(), { seed: 8n }));
  assert.deepEqual(
    passed.map(([name]) => name),
    ['create', 'create', 'restore', 'create', 'restore'],
  );
  const drawn = passed.slice(0, 3).map(([, seed]) => seed);
  for (const seed of drawn) assert.equal(typeof seed, 'bigint');
  assert.equal(new Set(drawn).size, 3, `the same seed twice: ${drawn}`);
  assert.deepEqual(passed.slice(3).map(([, seed]) => seed), [7n, 8n]);
  const many = Array.from({ length: 64 }, randomSeed);
  assert.ok(many.some((seed) => seed >= 1n << 53n), 'all 64 bits are drawn');
  for (const engine of engines) engine.dispose();
});

test('a seed in the config is refused; a seed out of range throws', () => {
  assert.throws(
    () => createEngine({ seed: 1 }),
    (error) =>
      error instanceof SnowyowlError && error.kind === 'invalid-config' && /^invalid config: seed: .*create\/restore/.test(error.message),
  );
  for (const seed of [-1, 1.5, 2n ** 64n, '7', Number.MAX_SAFE_INTEGER + 1]) {
    assert.throws(() => createEngine({}, { seed }), RangeError, String(seed));
  }
});

test('advance closes windows of an idle stream', () => {
  const engine = createEngine({});
  let batch = '';
  ['ann', 'bob', 'cat', 'dan', 'eve', 'fay'].forEach((user, n) => {
    batch += JSON.stringify({
      id: `s${n}`,
      createdDateTime: `2024-01-15T10:0${n}:00Z`,
      userPrincipalName: `${user}@contoso.com`,
      ipAddress: '203.0.113.9',
      status: { errorCode: 50126 },
    }) + '\n';
  });
  const pushed = engine.push(batch);
  const closed = engine.advance(new Date('2024-01-15T12:00:00Z'));
  const all = [...pushed.findings, ...closed];
  assert.ok(all.some((f) => f.detector === 'password-spray'), JSON.stringify(all.map((f) => f.detector)));
  assert.ok(engine.stats().records === 6);
});

test('advanceIdle moves on only the tenant that was quiet', () => {
  const sprayed = (tenant) =>
    Array.from({ length: 8 }, (_, n) =>
      JSON.stringify({
        id: `${tenant}-${n}`,
        createdDateTime: `2024-01-15T10:0${n}:00Z`,
        userPrincipalName: `user${n}@contoso.com`,
        ipAddress: '203.0.113.9',
        tenantId: tenant,
        status: { errorCode: 50126 },
      }),
    ).join('\n');
  const engine = createEngine({});
  // Both sprays are held back by the allowed lateness (5 min): nothing found yet.
  assert.deepEqual(engine.push(`${sprayed('quiet')}\n${sprayed('busy')}`).findings, []);
  // Both took events since the engine started: neither moves.
  assert.deepEqual(engine.advanceIdle(30 * 60_000), []);
  // The busy tenant sends on; a whole period later only the quiet one moves on, by the time
  // passed, and its spray comes out.
  const benign = {
    id: 'busy-ann',
    createdDateTime: '2024-01-15T10:06:00Z',
    userPrincipalName: 'ann@contoso.com',
    ipAddress: '198.51.100.7',
    tenantId: 'busy',
    status: { errorCode: 0 },
  };
  assert.deepEqual(engine.push(JSON.stringify(benign)).findings, []);
  const found = engine.advanceIdle(30n * 60_000n);
  assert.ok(found.length > 0);
  assert.deepEqual([...new Set(found.map((f) => `${f.detector} ${f.tenant}`))], ['password-spray quiet']);
  const byTenant = engine.stats().tenants.by_tenant;
  const start = Date.parse('2024-01-15T10:02:00Z');
  assert.equal(byTenant.quiet.watermark, start + 30 * 60_000);
  assert.equal(byTenant.busy.watermark, start);
  for (const bad of [-1, Number.NaN, '5', 2n ** 64n]) {
    assert.throws(() => engine.advanceIdle(bad), RangeError, String(bad));
  }
  engine.dispose();
});
