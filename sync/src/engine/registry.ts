import type { ConnectionCheck, Delta, DirectorySource, ReadOptions, Snapshot } from '../source.js';

/**
 * Source kinds (docs/sync.md "Writing a source kind"). A kind turns a
 * source's stored config into a DirectorySource. The LDAP and spreadsheet
 * modules call registerSourceKind() when imported; sync/src/kinds.ts imports
 * every built-in kind, and the gateway imports that file once.
 */

/** What a factory gets besides the config. */
export interface SourceFactoryDeps {
  /** The source's id (the slug in sync_sources). */
  sourceId: string;
  /** The origin the engine writes on this source's entries ('<kind>:<id>'); the source must report it as `origin`. */
  origin: string;
  /** The gateway's data directory (a spreadsheet source's drop folder lives under it, say). */
  dataDir: string;
  log: { info(o: object | string, m?: string): void; warn(o: object | string, m?: string): void; error(o: object | string, m?: string): void };
  /** The engine's clock (injected in tests); absent: Date.now. */
  now?(): number;
  /**
   * Services the host lends to kinds it registers itself (the gateway gives its
   * RTX sync service as `rtxSync` to the `rtx` kind). Kinds in sync/src use none.
   */
  host?: Readonly<Record<string, unknown>>;
  /**
   * What the directory holds now under an origin (the source's own, or `rtx`),
   * for connection tests to report. Synchronous and cheap; absent in a host
   * without a directory.
   */
  directoryCounts?(origin: string): DirectoryCounts;
}

/** Entries of one origin in the directory. */
export interface DirectoryCounts {
  users: number;
  /** Of `users`, those disabled. */
  disabledUsers: number;
  depts: number;
}

export interface SourceKind {
  /** 'ldap', 'xlsx', 'rtx', 'memory'… */
  kind: string;
  /** For the console: { zh, en }. */
  label?: { zh: string; en: string };
  /**
   * Config keys holding secrets (an LDAP bind password): sealed at rest with the
   * data directory's key, never returned by the API. The factory receives them in clear.
   */
  secretFields?: readonly string[];
  /**
   * Checks and normalises a config before it is stored; throws an Error whose
   * message is safe to show (it becomes GW_BAD_REQUEST). Secrets are in clear here.
   */
  validateConfig?(config: Record<string, unknown>): Record<string, unknown>;
  /** Builds the source for one run or one connection test; may not do I/O until read()/testConnection(). */
  create(config: Record<string, unknown>, deps: SourceFactoryDeps): DirectorySource;
  /**
   * Called after a real run of the source was applied (also one confirmed past
   * the safety brake), with the cursor the run stored: the spreadsheet kind
   * archives the file it read. Errors are logged, never fail the run.
   */
  afterApply?(config: Record<string, unknown>, deps: SourceFactoryDeps, cursor: string | null): Promise<void>;
}

export class SourceKindRegistry {
  private readonly kinds = new Map<string, SourceKind>();

  /** Registers a kind; registering the same kind again replaces it (tests). */
  register(spec: SourceKind): void {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(spec.kind)) throw new Error(`bad source kind name ${spec.kind}`);
    this.kinds.set(spec.kind, spec);
  }

  get(kind: string): SourceKind | undefined {
    return this.kinds.get(kind);
  }

  list(): SourceKind[] {
    return [...this.kinds.values()];
  }
}

/** The kinds every gateway knows (sync/src/kinds.ts fills it). */
export const SOURCE_KINDS = new SourceKindRegistry();

/**
 * Registers a source kind with the gateway:
 *   registerSourceKind('ldap', (config, deps) => new LdapSource(config, deps), { secretFields: ['bindPassword'], validateConfig })
 */
export function registerSourceKind(kind: string, create: SourceKind['create'], opts: Omit<SourceKind, 'kind' | 'create'> = {}): void {
  SOURCE_KINDS.register({ ...opts, kind, create });
}

// ---- the built-in `memory` kind: reads whatever a test put in a MemoryDirectory ----

/** What a memory source serves: a snapshot, or a queue of deltas answered when a cursor is given. */
export class MemoryDirectory {
  snapshot: Omit<Snapshot, 'kind' | 'cursor'> = { depts: [], users: [] };
  /** Deltas served in order to reads with a cursor; when empty, reads get the snapshot. */
  deltas: Omit<Delta, 'kind' | 'sinceCursor' | 'cursor'>[] = [];
  reads = 0;
  /** Makes the next reads wait for this promise (a slow directory). */
  gate: Promise<void> | null = null;
  /** Makes reads fail with this message. */
  failWith: string | null = null;
  private version = 0;

  async read(opts: ReadOptions, origin: string): Promise<Snapshot | Delta> {
    this.reads += 1;
    opts.onProgress?.({ phase: 'reading', done: 0 });
    if (this.gate) await Promise.race([this.gate, abortPromise(opts.signal)]);
    if (opts.signal?.aborted) throw new Error('aborted');
    if (this.failWith) throw new Error(this.failWith);
    const next = this.deltas.shift();
    this.version += 1;
    if (next && opts.sinceCursor) return { kind: 'delta', sinceCursor: opts.sinceCursor, ...next, cursor: `${origin}@${this.version}` };
    return { kind: 'snapshot', ...structuredClone(this.snapshot), cursor: `${origin}@${this.version}` };
  }
}

function abortPromise(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!signal) return;
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Memory directories by name (config `{ "directory": "<name>" }`), for tests and demos. */
export const MEMORY_DIRECTORIES = new Map<string, MemoryDirectory>();

registerSourceKind(
  'memory',
  (config, deps) => {
    const name = String(config.directory ?? 'default');
    const dir = MEMORY_DIRECTORIES.get(name);
    return {
      origin: deps.origin,
      read(opts) {
        if (!dir) return Promise.reject(new Error(`no memory directory named ${name}`));
        return dir.read(opts, deps.origin);
      },
      async testConnection(): Promise<ConnectionCheck> {
        return { ok: dir !== undefined, steps: [{ step: 'read', ok: dir !== undefined, message: dir ? `memory directory ${name}` : `no memory directory named ${name}` }] };
      },
    };
  },
  {
    label: { zh: '内存（测试）', en: 'In memory (tests)' },
    secretFields: ['secret'],
    validateConfig(c) {
      if (c.directory !== undefined && (typeof c.directory !== 'string' || c.directory.length > 64)) throw new Error('directory must be a name of up to 64 characters');
      return c;
    },
  },
);
