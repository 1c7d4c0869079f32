/** The slapd harness lives in sync/sim/slapd.ts (benchmarks use it too); tests import it from here. */
export * from '../../sync/sim/slapd.js';
