/** One imported licence file, as stored. */
export interface StoredLicence {
  id: string;
  /** The licence file text exactly as imported. */
  body: string;
  /** ms since the epoch of the last import of this licence. */
  importedAt: number;
  active: boolean;
}

/**
 * Storage of imported licences. At most one licence is active at a time.
 * Every method may throw on a storage failure; writes are durable before they resolve.
 */
export interface LicenceRepo {
  /** The active licence, or null when none was imported (trial). */
  active(): Promise<StoredLicence | null>;
  get(id: string): Promise<StoredLicence | null>;
  /**
   * Stores the licence (replacing the body kept under the same id) and makes it
   * the only active one, in one transaction: a reader sees the old active
   * licence or the new one, never none or two.
   */
  activate(id: string, body: string, importedAt: number): Promise<void>;
  /** Every stored licence, newest import first. */
  list(): Promise<StoredLicence[]>;
  /** A random id of this installation, created at the first call and the same ever after. */
  installationId(): Promise<string>;
}
