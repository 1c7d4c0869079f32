/**
 * The JSON-line contract with the COM helper lives with the adapter now
 * (rtx-adapter/src/helper-protocol.ts); re-exported here for the simulator's helper.
 */
export * from '../src/helper-protocol.js';
