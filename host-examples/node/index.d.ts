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
  /** Moves the watermark (event time) for an idle stream; returns the findings that closes. */
  advance(watermark: number | bigint | Date): Finding[];
  /** End of input: closes every open window. */
  flush(): Finding[];
  /** Counters and state sizes. */
  stats(): Record<string, unknown>;
  /** The engine's state, for restoreEngine after a restart. */
  snapshot(): Uint8Array;
  /** Frees the engine now. */
  dispose(): void;
}

/** A new engine; throws SnowyowlError naming the field for an invalid config. */
export declare function createEngine(config?: Config | string): Engine;

/** An engine continuing from a snapshot; throws SnowyowlError if it is damaged or foreign. */
export declare function restoreEngine(config: Config | string, snapshot: Uint8Array): Engine;
