import t from 'tap';
import {
  ClientError,
  HuitongClient,
  MemoryStore,
  SeqOrderer,
  TypedEmitter,
  type HuitongClientOptions,
  type SyncPage,
  type Transport,
  type TransportCloseInfo,
  type TransportEvents,
} from '../../client/src/index.js';
import { MAX_FRAME_BYTES, type MessageId, type MessageView, type UserId } from '../../gateway/src/protocol/client-v1.js';

function msg(seq: number, text = `m${seq}`, cmid = `c${seq}`): MessageView {
  return {
    id: (1000 + seq) as MessageId,
    seq,
    cmid,
    from: 2 as UserId,
    fromAccount: 'bob',
    to: { kind: 'user', id: 1 as UserId },
    kind: 'text',
    body: { text },
    ts: 1_700_000_000_000 + seq,
    origin: 'client',
  };
}

const seqs = (ms: MessageView[]): number[] => ms.map((m) => m.seq);

function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('SeqOrderer', async (t) => {
  t.test('delivers in order and drops duplicates', async (t) => {
    const got: MessageView[] = [];
    const o = new SeqOrderer(0, { fetch: async () => ({ messages: [], lastSeq: 0, more: false }), deliver: (m) => got.push(m) });
    await o.sync();
    for (const s of [1, 2, 2, 1, 3]) o.push(msg(s));
    t.same(seqs(got), [1, 2, 3]);
    t.equal(o.lastSeq, 3);
  });

  t.test('a gap starts a catch-up from lastSeq; pushes arriving meanwhile are merged', async (t) => {
    const got: MessageView[] = [];
    const calls: number[] = [];
    let page = deferred<SyncPage>();
    const o = new SeqOrderer(0, {
      fetch: (after) => {
        calls.push(after);
        return page.promise;
      },
      deliver: (m) => got.push(m),
    });
    const first = o.sync();
    page.resolve({ messages: [], lastSeq: 0, more: false });
    await first;
    page = deferred<SyncPage>();
    o.push(msg(1));
    o.push(msg(4));
    t.same(calls, [0, 1], 'catch-up asks for everything after 1');
    o.push(msg(5));
    o.push(msg(3));
    t.same(seqs(got), [1], 'nothing past the gap before the catch-up answers');
    page.resolve({ messages: [msg(2), msg(3), msg(4)], lastSeq: 4, more: false });
    await tick();
    t.same(seqs(got), [1, 2, 3, 4, 5]);
    t.equal(o.bufferedCount, 0);
  });

  t.test('while held, pushes wait for the next catch-up, which pages while more', async (t) => {
    const got: MessageView[] = [];
    const calls: number[] = [];
    const pages: SyncPage[] = [
      { messages: [msg(1), msg(2)], lastSeq: 3, more: true },
      { messages: [msg(3)], lastSeq: 3, more: false },
    ];
    const o = new SeqOrderer(0, {
      fetch: async (after) => {
        calls.push(after);
        return pages.shift() as SyncPage;
      },
      deliver: (m) => got.push(m),
    });
    o.push(msg(3));
    o.push(msg(4));
    t.same(got, [], 'no live delivery before the first catch-up');
    await o.sync();
    t.same(calls, [0, 2]);
    t.same(seqs(got), [1, 2, 3, 4]);
  });

  t.test('seqs the server no longer has (purged) are skipped as the server says', async (t) => {
    const got: MessageView[] = [];
    const o = new SeqOrderer(0, {
      fetch: async () => ({ messages: [msg(6), msg(5)], lastSeq: 6, more: false }),
      deliver: (m) => got.push(m),
    });
    await o.sync();
    t.same(seqs(got), [5, 6]);
  });

  t.test('a gap the server cannot fill is passed after fruitless catch-ups', async (t) => {
    const got: MessageView[] = [];
    let fetches = 0;
    const o = new SeqOrderer(1, {
      fetch: async () => {
        fetches++;
        return { messages: [], lastSeq: 3, more: false };
      },
      deliver: (m) => got.push(m),
    });
    await o.sync();
    fetches = 0;
    o.push(msg(3));
    await tick();
    t.same(seqs(got), [3]);
    t.equal(fetches, 2);
  });

  t.test('a failed catch-up is reported, pushes are kept, and the next sync recovers', async (t) => {
    const got: MessageView[] = [];
    const failures: unknown[] = [];
    let fail = false;
    const o = new SeqOrderer(0, {
      fetch: async (after) => {
        if (fail) throw new ClientError('GW_STORAGE_BUSY');
        return { messages: after < 2 ? [msg(2)].filter((m) => m.seq > after) : [], lastSeq: 2, more: false };
      },
      deliver: (m) => got.push(m),
      syncFailed: (err) => failures.push(err),
    });
    await o.sync();
    fail = true;
    o.push(msg(4));
    await tick();
    t.equal(failures.length, 1);
    o.push(msg(5));
    t.same(seqs(got), [2], 'held after the failure');
    fail = false;
    await o.sync();
    t.same(seqs(got), [2, 4, 5], 'the unfillable gap at 3 is passed, 4 and 5 come once');
  });

  t.test('hold() from a listener stops delivery in the middle of a page', async (t) => {
    const got: MessageView[] = [];
    const advanced: number[] = [];
    const o: SeqOrderer = new SeqOrderer(0, {
      fetch: async () => ({ messages: [msg(1), msg(2), msg(3)], lastSeq: 3, more: false }),
      deliver: (m) => {
        got.push(m);
        if (m.seq === 2) o.hold();
      },
      advanced: (s) => advanced.push(s),
    });
    await o.sync();
    t.same(seqs(got), [1, 2]);
    t.equal(o.lastSeq, 2);
    t.same(advanced, [2]);
  });
});

/** The server end of an in-memory connection; events reach the client on later ticks, in order. */
class FakeTransport extends TypedEmitter<TransportEvents> implements Transport {
  isOpen = true;

  constructor(private readonly server: FakeServer) {
    super();
  }

  send(frame: object): void {
    if (!this.isOpen) throw new ClientError('CLIENT_DISCONNECTED');
    const copy = JSON.parse(JSON.stringify(frame)) as Frame;
    setImmediate(() => this.server.handle(this, copy));
  }

  close(): void {
    this.end({ code: null, reason: '' });
  }

  toClient(frame: object): void {
    if (!this.isOpen) return;
    const copy: unknown = JSON.parse(JSON.stringify(frame));
    setImmediate(() => this.emit('frame', copy));
  }

  end(info: TransportCloseInfo): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    setImmediate(() => this.emit('close', info));
  }
}

type Frame = { t: string; rid: number; p: Record<string, unknown> };

/** A stateful stand-in for the gateway: one user's inbox, cmid dedup, tokens. */
class FakeServer {
  inbox: MessageView[] = [];
  readonly acks = new Map<string, { id: MessageId; seq: number; ts: number }>();
  readonly sendsSeen: string[] = [];
  readonly log: string[] = [];
  readonly connections: FakeTransport[] = [];
  readonly tokens = new Set<string>();
  pageSize = 2;
  /** Reads frames but answers none, like a peer that went away without closing. */
  silent = false;
  onSend: ((tr: FakeTransport, cmid: string) => 'drop' | void) | null = null;
  onSync: ((tr: FakeTransport, after: number) => void) | null = null;

  readonly factory = async (): Promise<Transport> => {
    const tr = new FakeTransport(this);
    this.connections.push(tr);
    return tr;
  };

  get current(): FakeTransport {
    return this.connections[this.connections.length - 1] as FakeTransport;
  }

  add(text: string): MessageView {
    const m = msg(this.inbox.length + 1, text);
    this.inbox.push(m);
    return m;
  }

  handle(tr: FakeTransport, f: Frame): void {
    this.log.push(f.t);
    if (this.silent) return;
    const ok = (p: object): void => tr.toClient({ t: 'result', rid: f.rid, p });
    const fail = (code: string): void => tr.toClient({ t: 'error', rid: f.rid, p: { code, message: code } });
    switch (f.t) {
      case 'hello':
        return ok({ v: 1, server: 'fake', heartbeatIntervalMs: 20_000, maxFrameBytes: MAX_FRAME_BYTES });
      case 'login':
        return f.p.password === 'pw' ? ok(this.auth()) : fail('GW_AUTH_FAILED');
      case 'resume':
        return this.tokens.has(f.p.token as string) ? ok(this.auth()) : fail('GW_TOKEN_INVALID');
      case 'msg.sync': {
        const after = f.p.after as number;
        this.onSync?.(tr, after);
        const rest = this.inbox.filter((m) => m.seq > after);
        const page = rest.slice(0, this.pageSize);
        return ok({ messages: page, lastSeq: this.inbox.length, more: rest.length > page.length });
      }
      case 'msg.send': {
        const cmid = f.p.cmid as string;
        this.sendsSeen.push(cmid);
        const seen = this.acks.get(cmid);
        if (seen) return ok({ ...seen, duplicate: true });
        const m = { ...msg(this.inbox.length + 1, (f.p.body as { text: string }).text, cmid), fromAccount: 'alice' };
        this.inbox.push(m);
        this.acks.set(cmid, { id: m.id, seq: m.seq, ts: m.ts });
        tr.toClient({ t: 'msg', p: m });
        if (this.onSend?.(tr, cmid) === 'drop') return tr.end({ code: null, reason: 'network' });
        return ok({ id: m.id, seq: m.seq, ts: m.ts, duplicate: false });
      }
      case 'device.cmd.ack':
      case 'ping':
        return ok({});
      default:
        return fail('GW_UNKNOWN_FRAME');
    }
  }

  private auth(): object {
    const token = `tok-${this.tokens.size + 1}`;
    this.tokens.add(token);
    return {
      token,
      user: { id: 1, account: 'alice', name: 'Alice' },
      deviceId: 'dev-1',
      dirVersion: 1,
      lastSeq: this.inbox.length,
      limits: { heartbeatIntervalMs: 20_000 },
    };
  }
}

function makeClient(server: FakeServer, extra: Partial<HuitongClientOptions> = {}): { client: HuitongClient; got: MessageView[] } {
  const client = new HuitongClient({
    url: 'tcp://fake:1',
    credentials: { account: 'alice', password: 'pw' },
    device: { id: 'dev-1', type: 'cli' },
    transportFactory: server.factory,
    minDelayMs: 5,
    maxDelayMs: 20,
    ...extra,
  });
  const got: MessageView[] = [];
  client.on('message', (m) => got.push(m));
  return { client, got };
}

function until(check: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (check()) resolve();
      else if (Date.now() - start > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 2);
    };
    poll();
  });
}

t.test('HuitongClient over a fake transport', async (t) => {
  t.test('catches up from lastSeq before live pushes, once each and in order', async (t) => {
    const server = new FakeServer();
    for (let i = 1; i <= 5; i++) server.add(`old ${i}`);
    server.onSync = (tr, after) => {
      if (after !== 2) return;
      // A new message arrives and is pushed before the first page is answered.
      tr.toClient({ t: 'msg', p: server.add('new') });
    };
    const { client, got } = makeClient(server, { lastSeq: 2 });
    t.teardown(() => client.close());
    await client.connect();
    await until(() => got.length >= 4, 'four messages');
    await tick(10);
    t.same(seqs(got), [3, 4, 5, 6]);
    t.equal(client.lastSeq, 6);

    server.add('gap');
    const eight = server.add('after gap');
    server.current.toClient({ t: 'msg', p: eight });
    await until(() => got.length >= 6, 'the gap to be filled');
    t.same(seqs(got), [3, 4, 5, 6, 7, 8], 'a push past a gap made the client sync');
  });

  t.test('an unacknowledged send is re-sent with the same cmid after reconnecting, and stored once', async (t) => {
    const server = new FakeServer();
    let drops = 0;
    server.onSend = () => (drops++ === 0 ? 'drop' : undefined);
    const store = new MemoryStore();
    const { client, got } = makeClient(server, { store });
    const closed: unknown[] = [];
    client.on('closed', (e) => closed.push(e));
    t.teardown(() => client.close());
    await client.connect();
    const ack = await client.sendText({ kind: 'user', id: 2 as UserId }, 'hello', { cmid: 'cmid-1' });
    t.equal(server.connections.length, 2, 'reconnected once');
    t.same(server.sendsSeen, ['cmid-1', 'cmid-1'], 'the retry used the same cmid');
    t.equal(server.inbox.filter((m) => m.cmid === 'cmid-1').length, 1, 'the server stored it once');
    t.equal(ack.id, server.acks.get('cmid-1')?.id);
    t.ok(ack.duplicate);
    t.ok(server.log.includes('resume'), 'the reconnect resumed the session');
    t.same(await store.getOutbox(), [], 'the outbox is empty once acknowledged');
    await until(() => got.length === 1, 'own message');
    await tick(10);
    t.same(seqs(got), [1], 'the message is emitted once despite push, sync and retry');
    t.match(closed, [{ code: null, willReconnect: true }]);
  });

  t.test('a close code that forbids reconnecting stops the client', async (t) => {
    const server = new FakeServer();
    const { client } = makeClient(server);
    const closed: unknown[] = [];
    const states: string[] = [];
    client.on('closed', (e) => closed.push(e));
    client.on('state', (s) => states.push(s));
    await client.connect();
    const send = client.sendText({ kind: 'user', id: 2 as UserId }, 'never', { cmid: 'blocked-1' });
    server.current.end({ code: 'GW_USER_BLOCKED', reason: 'blocked' });
    await t.rejects(send, { code: 'GW_USER_BLOCKED' }, 'the waiting send fails with the code');
    t.equal(client.state, 'stopped');
    await tick(50);
    t.equal(server.connections.length, 1, 'no reconnect attempt');
    t.match(closed, [{ code: 'GW_USER_BLOCKED', willReconnect: false }]);
    t.same(states, ['connecting', 'online', 'stopped']);
  });

  t.test('a refused token is followed by one fresh login with the credentials', async (t) => {
    const server = new FakeServer();
    const { client } = makeClient(server, { token: 'stale' });
    t.teardown(() => client.close());
    const auth = await client.connect();
    t.equal(auth.token, 'tok-1');
    t.same(server.log.filter((f) => f === 'resume' || f === 'login'), ['resume', 'login']);

    const bare = makeClient(new FakeServer(), { token: 'stale', credentials: undefined }).client;
    await t.rejects(bare.connect(), { code: 'GW_TOKEN_INVALID' });
    t.equal(bare.state, 'stopped');
  });

  t.test('a wipe command erases the store before it is acknowledged', async (t) => {
    const server = new FakeServer();
    const store = new MemoryStore();
    const order: string[] = [];
    const wipe = store.wipe.bind(store);
    store.wipe = async () => {
      order.push('wipe');
      await wipe();
    };
    const { client } = makeClient(server, { store });
    t.teardown(() => client.close());
    client.on('command', (c) => order.push(`command:${c.kind}`));
    await client.connect();
    t.ok(await store.getSession(), 'session stored after login');
    const handle = server.handle.bind(server);
    server.handle = (tr, f) => {
      if (f.t === 'device.cmd.ack') order.push(`ack:${String(f.p.id)}`);
      handle(tr, f);
    };
    server.current.toClient({ t: 'device.cmd', p: { id: 9, kind: 'wipe', issuedAt: Date.now() } });
    await until(() => order.includes('ack:9'), 'the ack');
    t.same(order, ['command:wipe', 'wipe', 'ack:9']);
    t.equal(await store.getSession(), null);
  });

  t.test('a server shutdown is followed by a reconnect and a catch-up', async (t) => {
    const server = new FakeServer();
    const { client, got } = makeClient(server);
    t.teardown(() => client.close());
    await client.connect();
    server.current.end({ code: 'GW_SERVER_SHUTDOWN', reason: 'restart' });
    server.add('while away');
    await until(() => got.length === 1, 'the missed message');
    t.equal(client.state, 'online');
    t.equal(server.connections.length, 2);
  });

  t.test('a silent connection is declared dead by the heartbeat, and the client reconnects', async (t) => {
    const server = new FakeServer();
    const { client } = makeClient(server, { heartbeatIntervalMs: 20, heartbeatTimeoutMs: 100, requestTimeoutMs: 500 });
    t.teardown(() => client.close());
    const closed: { code: string | null; willReconnect: boolean }[] = [];
    client.on('closed', (e) => {
      closed.push(e);
      server.silent = false;
    });
    await client.connect();
    server.silent = true;
    await until(() => closed.length === 1, 'the heartbeat timeout');
    t.ok(server.log.includes('ping'), 'the idle client pinged');
    t.match(closed, [{ code: 'CLIENT_HEARTBEAT_TIMEOUT', willReconnect: true }]);
    await until(() => client.state === 'online' && server.connections.length === 2, 'the reconnect');
  });
});
