/**
 * Imports every built-in source kind, so each registers itself with
 * SOURCE_KINDS (engine/registry.ts). A new kind adds its import here
 * (docs/sync.md "Writing a source kind"). Kinds built on gateway code
 * (`xlsx`, `rtx`) register from gateway/src/sync/kinds.ts instead: sync/src
 * imports nothing from the gateway.
 */
import './engine/registry.js';
import './sources/ldap-kind.js';

export { SOURCE_KINDS, registerSourceKind, type SourceKind, type SourceFactoryDeps } from './engine/registry.js';
