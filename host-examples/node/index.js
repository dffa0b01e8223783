// snowyowl for JavaScript: the snowyowl WebAssembly component (transpiled by jco into dist/)
// behind a small API. The component imports nothing: no file, clock or network access.
import { engine as wit } from './dist/snowyowl.js';

/** A configuration or snapshot the engine refused; `kind` says which. */
export class SnowyowlError extends Error {
  constructor(kind, message) {
    super(`${kind === 'invalid-config' ? 'invalid config' : 'invalid snapshot'}: ${message}`);
    this.name = 'SnowyowlError';
    this.kind = kind;
  }
}

const encoder = new TextEncoder();

// Text as it is (the engine says what is wrong with it), objects as JSON.
function configText(config) {
  return typeof config === 'string' ? config : JSON.stringify(config ?? {});
}

// The largest u64: the most a seed or a quiet time can be.
const MAX_U64 = (1n << 64n) - 1n;

/**
 * A fresh hash seed: 64 bits from `crypto.getRandomValues`, as the BigInt jco passes for a u64.
 * Every engine gets one unless a seed is given (only to reproduce a run).
 */
export function randomSeed() {
  return crypto.getRandomValues(new BigUint64Array(1))[0];
}

// The seed to pass: the one given (a bigint or a safe integer in the u64 range), else a fresh one.
function seedOf(seed) {
  if (seed === undefined) return randomSeed();
  const value = typeof seed === 'bigint' ? seed : Number.isSafeInteger(seed) ? BigInt(seed) : undefined;
  if (value === undefined || value < 0n || value > MAX_U64) {
    throw new RangeError(`seed must be an integer from 0 to 2^64 - 1, not ${String(seed)}`);
  }
  return value;
}

function rethrow(error) {
  const payload = error?.payload;
  if (payload && (payload.tag === 'invalid-config' || payload.tag === 'invalid-snapshot')) {
    throw new SnowyowlError(payload.tag, payload.val);
  }
  throw error;
}

function finding(f) {
  return {
    detector: f.detector,
    severity: f.severity,
    uid: f.uid,
    time: Number(f.timeMs),
    tenant: f.tenant ?? null,
    json: f.json,
    get ocsf() {
      return JSON.parse(f.json);
    },
  };
}

/** A running engine: events in (NDJSON or JSON documents), OCSF findings out. */
export class Engine {
  #inner;

  constructor(inner) {
    this.#inner = inner;
  }

  /** Events as bytes or text: newline-delimited JSON, or one JSON document. */
  push(events) {
    const bytes = typeof events === 'string' ? encoder.encode(events) : events;
    const pushed = this.#inner.push(bytes);
    return {
      findings: pushed.findings.map(finding),
      rejected: pushed.rejected.map((r) => ({ line: r.line, kind: r.kind, reason: r.reason })),
      accepted: pushed.accepted,
      ignored: pushed.ignored,
    };
  }

  /**
   * Moves every tenant's watermark (event time, ms or Date) for an idle stream; returns closed
   * findings. One watermark for all suits one tenant or a replay; a live stream uses advanceIdle.
   */
  advance(watermark) {
    const ms = watermark instanceof Date ? watermark.getTime() : Number(watermark);
    return this.#inner.advance(BigInt(Math.trunc(ms))).map(finding);
  }

  /**
   * A live stream gone quiet: every tenant that took no event since the previous call moves its
   * own watermark on by `quietMs` (the wall-clock ms since that call); returns closed findings.
   */
  advanceIdle(quietMs) {
    const ms =
      typeof quietMs === 'bigint'
        ? quietMs
        : typeof quietMs === 'number' && Number.isFinite(quietMs)
          ? BigInt(Math.trunc(quietMs))
          : undefined;
    if (ms === undefined || ms < 0n || ms > MAX_U64) {
      throw new RangeError(`quietMs must be a number of ms from 0 to 2^64 - 1, not ${String(quietMs)}`);
    }
    return this.#inner.advanceIdle(ms).map(finding);
  }

  /** End of input: closes every open window. */
  flush() {
    return this.#inner.flush().map(finding);
  }

  /** Counters and state sizes. */
  stats() {
    return JSON.parse(this.#inner.stats());
  }

  /** The engine's state, to restore after a restart. */
  snapshot() {
    try {
      return this.#inner.snapshot();
    } catch (error) {
      rethrow(error);
    }
  }

  /** Frees the engine now rather than when it is collected. */
  dispose() {
    this.#inner[Symbol.dispose]?.();
  }
}

/**
 * A new engine. `config` is the object (or JSON text) the CLI reads with --config. The hash seed
 * of the engine's tables is drawn afresh (`randomSeed`) unless `options.seed` gives one.
 */
export function createEngine(config = {}, { seed } = {}) {
  const text = configText(config);
  const drawn = seedOf(seed);
  try {
    return new Engine(wit.Engine.create(text, drawn));
  } catch (error) {
    rethrow(error);
  }
}

/**
 * An engine continuing from `snapshot` (from `engine.snapshot()`), with a fresh hash seed unless
 * `options.seed` gives one (a snapshot holds no seed: any seed continues it).
 */
export function restoreEngine(config, snapshot, { seed } = {}) {
  const text = configText(config);
  const drawn = seedOf(seed);
  try {
    return new Engine(wit.Engine.restore(text, snapshot, drawn));
  } catch (error) {
    rethrow(error);
  }
}
