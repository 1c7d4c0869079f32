/**
 * Every source kind the gateway knows: the engine's own (sync/src/kinds.ts:
 * memory, ldap) and the kinds that need gateway code, registered here because
 * sync/src imports nothing from the gateway — `xlsx` (reuses the Excel
 * template's parser and validator) and `rtx` (drives the RTX sync service).
 */
import './xlsx-source.js';
import './rtx-source.js';

export { SOURCE_KINDS } from '../../../sync/src/kinds.js';
