/**
 * What a directory source gives the sync engine (docs/sync.md): a complete
 * snapshot, or a delta since a cursor, of departments, users and group
 * memberships, each with a stable external id owned by the source. Sources
 * read; only the engine writes the directory.
 */

/** A department as the source has it. */
export interface SourceDept {
  /** Stable id in the source (LDAP: the OU's entryUUID/objectGUID; spreadsheet: the path). */
  externalId: string;
  /** null = top level of what this source syncs. */
  parentExternalId: string | null;
  name: string;
  order?: number;
}

export interface SourceUser {
  /** Stable id (LDAP: entryUUID / objectGUID as hex; spreadsheet: the account). */
  externalId: string;
  /** Login name in the gateway (uid / sAMAccountName / the sheet's account). */
  account: string;
  name: string;
  email?: string;
  mobile?: string;
  phone?: string;
  title?: string;
  gender?: 'male' | 'female' | 'unknown';
  /** Department external ids, main first; may be empty. */
  deptExternalIds: string[];
  /** Disabled at the source (AD userAccountControl bit 2, nsAccountLock, a filter...). */
  disabled: boolean;
  /** For LDAP users: the DN to bind as when they log in with their directory password. */
  loginDn?: string;
}

export interface SourceGroup {
  externalId: string;
  name: string;
  /** Member user external ids. */
  memberExternalIds: string[];
}

export interface Snapshot {
  kind: 'snapshot';
  depts: SourceDept[];
  users: SourceUser[];
  /** Absent: the source does not manage groups (existing groups are left alone). */
  groups?: SourceGroup[];
  /** Where the next delta starts (LDAP: highest uSNChanged / modifyTimestamp seen). */
  cursor: string | null;
  /** Lines for the run's warnings, for people to read (which file was read, say). */
  notes?: string[];
}

/** Changes since `sinceCursor`. Deletions are not visible in most deltas: a periodic snapshot reconciles them. */
export interface Delta {
  kind: 'delta';
  sinceCursor: string;
  depts: SourceDept[];
  users: SourceUser[];
  groups?: SourceGroup[];
  /** External ids the source reports as deleted, when it can (AD tombstones, a spreadsheet's removed rows). */
  removed?: { depts?: string[]; users?: string[]; groups?: string[] };
  cursor: string | null;
  /**
   * Lines for the run's warnings. A source with nothing new to read (no new
   * spreadsheet in its folder) answers an empty delta that keeps its cursor,
   * with a note saying so: the run plans nothing and applies nothing.
   */
  notes?: string[];
}

export interface ReadProgress {
  phase: string;
  done: number;
  total?: number;
}

export interface ReadOptions {
  /** Ask for a delta after this cursor; a source that cannot answers a snapshot. */
  sinceCursor?: string | null;
  signal?: AbortSignal;
  onProgress?(p: ReadProgress): void;
  /** The run is a dry run: a source whose reading changes something elsewhere (the `rtx` kind) must refuse. */
  dryRun?: boolean;
}

/** One entry the source refuses (a spreadsheet's row), for a run's per-object errors. */
export interface SourceProblem {
  kind: 'dept' | 'user' | 'group';
  /** The entry's external id when it has one, else where it is ("row 7"). */
  externalId: string;
  label: string;
  message: string;
}

/**
 * Thrown by read() when the source's data is unusable as a whole because of
 * specific entries (a spreadsheet with bad rows): the run fails with
 * `message`, the problems become its per-object errors, and nothing is applied.
 */
export class SourceDataError extends Error {
  /**
   * What the refused data was, when the source can name it (a spreadsheet's
   * `xlsx-sha256:<hash>`): the same value from `fingerprint()` later means the
   * same refused data, which a scheduled run need not read again.
   */
  readonly fingerprint: string | null;

  constructor(
    message: string,
    readonly problems: SourceProblem[],
    opts: { fingerprint?: string | null } = {},
  ) {
    super(message);
    this.name = 'SourceDataError';
    this.fingerprint = opts.fingerprint ?? null;
  }
}

/** The result of "test connection", step by step, in plain words. */
export interface ConnectionCheck {
  ok: boolean;
  /** `messageZh`: the message in Chinese, when the kind has one; `code`: a stable name for the outcome, when the kind has one. */
  steps: {
    step: 'dns' | 'tcp' | 'tls' | 'bind' | 'base' | 'filter' | 'read' | 'folder' | 'file' | 'workbook' | 'rows' | 'adapter' | 'directory';
    ok: boolean;
    message: string;
    messageZh?: string;
    code?: string;
    ms?: number;
  }[];
}

export interface DirectorySource {
  /** The owning origin written on everything this source creates: 'ldap:<id>', 'xlsx:<id>', 'rtx'. */
  readonly origin: string;
  read(opts: ReadOptions): Promise<Snapshot | Delta>;
  testConnection(): Promise<ConnectionCheck>;
  close?(): Promise<void>;
}

/**
 * Optional capability: a source that can name the data it would read without
 * reading it in full (a spreadsheet source: the SHA-256 of its newest file).
 * The engine compares it with the `fingerprint` of the source's last failed
 * run, so a scheduled run does not parse again a file already refused.
 * Never throws for a directory problem: null when it cannot tell.
 */
export interface DataFingerprint {
  fingerprint(): Promise<string | null>;
}

export function hasFingerprint(src: DirectorySource): src is DirectorySource & DataFingerprint {
  return typeof (src as Partial<DataFingerprint>).fingerprint === 'function';
}

/** Verifies a directory password for a user this source owns (LDAP bind as the user). */
export interface PasswordAuthority {
  verify(user: { account: string; loginDn?: string | null }, password: string): Promise<boolean>;
}
