import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AnyConversation, BodyByKind, SendableKind, UserId } from '../../gateway/src/protocol/client-v1.js';

/** The session a device holds after logging in. */
export interface StoredSession {
  token: string;
  userId: UserId;
  account: string;
  deviceId: string;
}

/** A message handed to send() that the server has not acknowledged yet. */
export interface OutboxEntry {
  cmid: string;
  to: AnyConversation;
  kind: SendableKind;
  body: BodyByKind[SendableKind];
  mentions?: UserId[];
  /** Milliseconds since the epoch, client clock. */
  queuedAt: number;
}

/**
 * Where the client keeps what must survive a reconnect or a restart. Every
 * method may reject (a full disk, a corrupt file); the client reports such
 * failures and carries on with what it has in memory. Implementations must not
 * let a later write be overtaken by an earlier one.
 */
export interface ClientStore {
  getSession(): Promise<StoredSession | null>;
  setSession(session: StoredSession | null): Promise<void>;
  /** Highest inbox seq delivered to the application; 0 when none. */
  getLastSeq(): Promise<number>;
  setLastSeq(seq: number): Promise<void>;
  /** Unacknowledged sends, oldest first. */
  getOutbox(): Promise<OutboxEntry[]>;
  setOutbox(entries: OutboxEntry[]): Promise<void>;
  /** The installation's device id, generated once. */
  getDeviceId(): Promise<string | null>;
  setDeviceId(id: string): Promise<void>;
  /** Erases everything (an administrator ordered a wipe); later reads return the defaults. */
  wipe(): Promise<void>;
}

interface StateV1 {
  v: 1;
  session: StoredSession | null;
  lastSeq: number;
  outbox: OutboxEntry[];
  deviceId: string | null;
}

function emptyState(): StateV1 {
  return { v: 1, session: null, lastSeq: 0, outbox: [], deviceId: null };
}

/** Keeps state in memory only: it survives reconnects, not restarts. */
export class MemoryStore implements ClientStore {
  private state = emptyState();

  async getSession(): Promise<StoredSession | null> {
    return this.state.session ? { ...this.state.session } : null;
  }
  async setSession(session: StoredSession | null): Promise<void> {
    this.state.session = session ? { ...session } : null;
  }
  async getLastSeq(): Promise<number> {
    return this.state.lastSeq;
  }
  async setLastSeq(seq: number): Promise<void> {
    this.state.lastSeq = seq;
  }
  async getOutbox(): Promise<OutboxEntry[]> {
    return structuredClone(this.state.outbox);
  }
  async setOutbox(entries: OutboxEntry[]): Promise<void> {
    this.state.outbox = structuredClone(entries);
  }
  async getDeviceId(): Promise<string | null> {
    return this.state.deviceId;
  }
  async setDeviceId(id: string): Promise<void> {
    this.state.deviceId = id;
  }
  async wipe(): Promise<void> {
    this.state = emptyState();
  }
}

/**
 * Keeps state in one JSON file, readable only by its owner since it holds a
 * session token. Every change rewrites the file atomically (write a temporary
 * file, then rename it over the old one), so a crash leaves the old or the new
 * state, never a torn one. Changes made while a write is in flight are
 * coalesced into one more write. A file that exists but cannot be parsed is an
 * error, not an empty state: it may hold unsent messages.
 */
export class FileStore implements ClientStore {
  private state: StateV1 | null = null;
  private loading: Promise<StateV1> | null = null;
  private dirty = false;
  private writing: Promise<void> | null = null;
  private tmpCounter = 0;

  constructor(readonly path: string) {}

  async getSession(): Promise<StoredSession | null> {
    const s = (await this.load()).session;
    return s ? { ...s } : null;
  }
  async setSession(session: StoredSession | null): Promise<void> {
    (await this.load()).session = session ? { ...session } : null;
    return this.save();
  }
  async getLastSeq(): Promise<number> {
    return (await this.load()).lastSeq;
  }
  async setLastSeq(seq: number): Promise<void> {
    (await this.load()).lastSeq = seq;
    return this.save();
  }
  async getOutbox(): Promise<OutboxEntry[]> {
    return structuredClone((await this.load()).outbox);
  }
  async setOutbox(entries: OutboxEntry[]): Promise<void> {
    (await this.load()).outbox = structuredClone(entries);
    return this.save();
  }
  async getDeviceId(): Promise<string | null> {
    return (await this.load()).deviceId;
  }
  async setDeviceId(id: string): Promise<void> {
    (await this.load()).deviceId = id;
    return this.save();
  }

  async wipe(): Promise<void> {
    await this.load();
    this.state = emptyState();
    this.dirty = false;
    await this.writing?.catch(() => undefined);
    await rm(this.path, { force: true });
  }

  private load(): Promise<StateV1> {
    if (this.state) return Promise.resolve(this.state);
    this.loading ??= this.readState().then(
      (s) => {
        this.state = s;
        return s;
      },
      (err: unknown) => {
        this.loading = null;
        throw err;
      },
    );
    return this.loading;
  }

  private async readState(): Promise<StateV1> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`State file ${this.path} is not valid JSON; move it aside to start afresh.`);
    }
    const s = parsed as Partial<StateV1> | null;
    if (!s || s.v !== 1 || typeof s.lastSeq !== 'number' || !Array.isArray(s.outbox)) {
      throw new Error(`State file ${this.path} is not a Huitong client state file (version 1).`);
    }
    return { v: 1, session: s.session ?? null, lastSeq: s.lastSeq, outbox: s.outbox, deviceId: s.deviceId ?? null };
  }

  private save(): Promise<void> {
    this.dirty = true;
    this.writing ??= this.writeLoop().finally(() => {
      this.writing = null;
    });
    return this.writing;
  }

  private async writeLoop(): Promise<void> {
    while (this.dirty && this.state) {
      this.dirty = false;
      const text = JSON.stringify(this.state);
      const tmp = `${this.path}.${process.pid}.${++this.tmpCounter}.tmp`;
      await mkdir(dirname(this.path), { recursive: true });
      try {
        const fh = await open(tmp, 'w', 0o600);
        try {
          await fh.writeFile(text, 'utf8');
          await fh.sync();
        } finally {
          await fh.close();
        }
        await rename(tmp, this.path);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    }
  }
}
