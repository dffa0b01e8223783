/** Severity of a finding (OCSF severity_id 1–5). */
export type Severity = 'informational' | 'low' | 'medium' | 'high' | 'critical';

/** A finding: the fields hosts route on, and the OCSF Detection Finding (class 2004). */
export interface Finding {
  /** Detector id, such as `password-spray` or `attack-chain`. */
  detector: string;
  severity: Severity;
  /** Stable: an updated finding keeps its uid. */
  uid: string;
  /** Event time, ms since the Unix epoch. */
  time: number;
  /** The tenant it belongs to (OCSF `cloud.account.uid`), or null for events that name none. */
  tenant: string | null;
  /** The OCSF Detection Finding as JSON text. */
  json: string;
  /** The OCSF Detection Finding, parsed. */
  readonly ocsf: Record<string, unknown>;
}

/** A record that could not be read: where (1-based line in the pushed batch) and why. */
export interface Rejected {
  line: number;
  kind: 'malformed' | 'not-an-object' | 'unknown-shape' | 'invalid-field';
  reason: string;
}

export interface Pushed {
  findings: Finding[];
  rejected: Rejected[];
  /** Records turned into events. */
  accepted: number;
  /** Records of known sources that no detector reads. */
  ignored: number;
}

/** The engine configuration the CLI reads with --config (see the repository README). */
export type Config = Record<string, unknown>;

export declare class SnowyowlError extends Error {
  kind: 'invalid-config' | 'invalid-snapshot';
}

export declare class Engine {
  private constructor();
  /** Events: newline-delimited JSON or one JSON document, as bytes or text. */
  push(events: Uint8Array | string): Pushed;
  /**
   * Moves every tenant's watermark (event time) for an idle stream; returns the findings that
   * closes. One watermark for all suits one tenant or a replay; a live stream uses advanceIdle.
   */
  advance(watermark: number | bigint | Date): Finding[];
  /**
   * A live stream gone quiet: every tenant that took no event since the previous call (the first
   * counts from the engine's start) moves its own watermark on by `quietMs`, closing the windows
   * that ends; the others stay. Call it on a timer with the wall-clock ms since the previous
   * call. Throws RangeError for a negative or non-numeric `quietMs`.
   */
  advanceIdle(quietMs: number | bigint): Finding[];
  /** End of input: closes every open window. */
  flush(): Finding[];
  /** Counters and state sizes. */
  stats(): Record<string, unknown>;
  /** The engine's state, for restoreEngine after a restart; throws SnowyowlError (`invalid-snapshot`, naming it) when a detector's state cannot be written. */
  snapshot(): Uint8Array;
  /** Frees the engine now. */
  dispose(): void;
}

/** How an engine is made, beyond its configuration. */
export interface EngineOptions {
  /**
   * The seed of the engine's hash tables (0 to 2^64 - 1). Leave it out: each engine then draws a
   * fresh one from `crypto.getRandomValues`, so that no one can choose keys that collide. Give
   * one only to reproduce a run; findings do not depend on it.
   */
  seed?: bigint | number;
}

/** A fresh hash seed: 64 random bits from `crypto.getRandomValues`. */
export declare function randomSeed(): bigint;

/**
 * A new engine; throws SnowyowlError naming the field for an invalid config (including one that
 * sets `seed`: it is `options.seed`), RangeError for a seed out of range.
 */
export declare function createEngine(config?: Config | string, options?: EngineOptions): Engine;

/**
 * An engine continuing from a snapshot (under any seed: a snapshot holds none); throws
 * SnowyowlError if it is damaged or foreign.
 */
export declare function restoreEngine(
  config: Config | string,
  snapshot: Uint8Array,
  options?: EngineOptions,
): Engine;
