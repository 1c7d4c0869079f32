/**
 * Imports every built-in source kind, so each registers itself with
 * SOURCE_KINDS (engine/registry.ts). A new kind adds its import here
 * (docs/sync.md "Writing a source kind").
 */
import './engine/registry.js';
import './sources/ldap-kind.js';

export { SOURCE_KINDS, registerSourceKind, type SourceKind, type SourceFactoryDeps } from './engine/registry.js';
