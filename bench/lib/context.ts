// What every scenario gets and gives back.

/** One line of the results table. `ratio` is value / baseline (for latencies > 1 means slower). */
export interface Row {
  scenario: string;
  metric: string;
  value: number | string | undefined;
  unit: string;
  baseline?: number;
  ratio?: number;
  /** The target in words, e.g. "< 50 ms". */
  target?: string;
  pass?: boolean;
  /** Anything else worth a glance (printed in the last column). */
  note?: string;
}

/** Options of one run. */
export interface BenchOptions {
  quick: boolean;
  /** Extra environment for the service processes (and the baseline worker), from `--env K=V`. */
  extraEnv: Record<string, string>;
  log: (msg: string) => void;
  /** Run on the production topology (Temporal server on PostgreSQL, 2 APIs, 2 workers) instead of the dev server. */
  cluster?: boolean;
  /** Steady rates of the latency scenario (events/s), from `--latency-rates`; default 50,20. */
  latencyRates?: number[];
  /** Longer phases (compare: 60 s per rate, 3,000 at saturation, two rounds), from `--long`. */
  long?: boolean;
  /** Rounds of the compare scenario (each runs every system once, alternating), from `--rounds`. */
  rounds?: number;
  /**
   * More hubs for the compare scenario (before/after in one run): another built checkout's dist (`--hub-dist NAME=DIR`)
   * or this one with more service environment (`--hub-env NAME=KEY=VALUE`).
   */
  hubVariants?: { name: string; root?: string; env?: Record<string, string> }[];
  /** Offered rates of the ingest scenario (events/s), from `--rates`; default 50,100,200,400. */
  ingestRates?: number[];
}

/** A scenario's output: table rows and everything else worth keeping in the JSON. */
export interface ScenarioOutput {
  rows: Row[];
  details: Record<string, unknown>;
}

export interface Scenario {
  name: string;
  title: string;
  run(opts: BenchOptions): Promise<ScenarioOutput>;
}
