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

function configText(config) {
  const object = typeof config === 'string' ? safeParse(config) : { ...(config ?? {}) };
  if (object === undefined) return config; // not JSON: let the engine say what is wrong
  if (object !== null && typeof object === 'object' && !Array.isArray(object) && object.seed === undefined) {
    // Hash tables keyed by attacker-chosen strings need a seed the attacker cannot guess.
    const words = crypto.getRandomValues(new Uint32Array(2));
    object.seed = Number((BigInt(words[0] & 0x1fffff) << 32n) | BigInt(words[1]));
  }
  return JSON.stringify(object);
}

function safeParse(text) {
  try {
    return text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    return undefined;
  }
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

  /** Moves the watermark (event time, ms or Date) for an idle stream; returns closed findings. */
  advance(watermark) {
    const ms = watermark instanceof Date ? watermark.getTime() : Number(watermark);
    return this.#inner.advance(BigInt(Math.trunc(ms))).map(finding);
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
    return this.#inner.snapshot();
  }

  /** Frees the engine now rather than when it is collected. */
  dispose() {
    this.#inner[Symbol.dispose]?.();
  }
}

/** A new engine. `config` is the object (or JSON text) the CLI reads with --config. */
export function createEngine(config = {}) {
  try {
    return new Engine(wit.Engine.create(configText(config)));
  } catch (error) {
    rethrow(error);
  }
}

/** An engine continuing from `snapshot` (from `engine.snapshot()`). */
export function restoreEngine(config, snapshot) {
  try {
    return new Engine(wit.Engine.restore(configText(config), snapshot));
  } catch (error) {
    rethrow(error);
  }
}
