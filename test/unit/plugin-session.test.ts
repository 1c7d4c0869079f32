import t from 'tap';
import {
  PayloadDispatcher,
  PluginSession,
  type HighWaterStore,
  type OutboundFrame,
  type PluginLink,
  type PluginOutbox,
  type SessionTimers,
} from '../../gateway/src/protocol/plugin-session.js';
import {
  decodePluginFrame,
  negotiateVersion,
  PluginProtocolError,
  reconnectDelayMs,
  validatePluginFrame,
  type PluginCloseCode,
  type PluginFrame,
} from '../../gateway/src/protocol/plugin-v1.js';

class MemOutbox implements PluginOutbox {
  frames: OutboundFrame[] = [];
  last = 0;
  acked = 0;
  append(items: readonly { type: string; bodyJson: string }[]): number[] {
    return items.map((it) => {
      const seq = ++this.last;
      this.frames.push({ seq, type: it.type, bodyJson: it.bodyJson });
      return seq;
    });
  }
  unacked(after: number, limit: number): OutboundFrame[] {
    return this.frames.filter((f) => f.seq > after).slice(0, limit);
  }
  ack(upTo: number): void {
    this.frames = this.frames.filter((f) => f.seq > upTo);
    this.acked = Math.max(this.acked, upTo);
    this.last = Math.max(this.last, upTo);
  }
  state() {
    return { lastSeq: this.last, ackedSeq: this.acked };
  }
}

class MemHighWater implements HighWaterStore {
  hw = 0;
  stream() {
    return 'adapter-1';
  }
  highWater() {
    return this.hw;
  }
  setHighWater(seq: number) {
    this.hw = seq;
  }
  transaction<T>(fn: () => T): T {
    const saved = this.hw;
    try {
      return fn();
    } catch (e) {
      this.hw = saved;
      throw e;
    }
  }
}

class FakeTimers implements SessionTimers {
  t = 1_000_000;
  private jobs = new Set<{ ms: number; fn: () => void; next: number }>();
  now = () => this.t;
  every = (ms: number, fn: () => void) => {
    const job = { ms, fn, next: this.t + ms };
    this.jobs.add(job);
    return () => void this.jobs.delete(job);
  };
  defer = (fn: () => void) => void setImmediate(fn);
  advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.jobs].filter((j) => j.next <= end).sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      this.t = due.next;
      due.next += due.ms;
      due.fn();
    }
    this.t = end;
  }
}

interface Side {
  session: PluginSession;
  outbox: MemOutbox;
  hw: MemHighWater;
  dispatcher: PayloadDispatcher;
  got: { seq: number; body: unknown }[];
  timers: FakeTimers;
}

function side(): Side {
  const outbox = new MemOutbox();
  const hw = new MemHighWater();
  const dispatcher = new PayloadDispatcher(hw);
  const got: { seq: number; body: unknown }[] = [];
  dispatcher.on('test.msg', (body, ctx) => void got.push({ seq: ctx.seq, body }));
  const timers = new FakeTimers();
  const session = new PluginSession({ outbox, inbox: dispatcher, timers });
  return { session, outbox, hw, dispatcher, got, timers };
}

/** A link that records what was written and can deliver it (or not) to the other side. */
class TestLink implements PluginLink {
  written: PluginFrame[] = [];
  closedWith: { code: PluginCloseCode; message: string } | null = null;
  peer: { session: PluginSession; link: PluginLink } | null = null;
  cut = false;
  write(json: string): boolean {
    if (this.closedWith) return false;
    const frame = validatePluginFrame(JSON.parse(json));
    this.written.push(frame);
    const peer = this.peer;
    if (peer && !this.cut) setImmediate(() => peer.session.onFrame(peer.link, frame));
    return true;
  }
  close(code: PluginCloseCode, message: string): void {
    this.closedWith ??= { code, message };
  }
}

async function connect(a: Side, b: Side, params: { maxUnacked?: number } = {}) {
  const la = new TestLink();
  const lb = new TestLink();
  la.peer = { session: b.session, link: lb };
  lb.peer = { session: a.session, link: la };
  const [ha, hb] = [await a.session.settledHighWater(), await b.session.settledHighWater()];
  await a.session.attach(la, { peerRecvSeq: hb, ...params });
  await b.session.attach(lb, { peerRecvSeq: ha, ...params });
  return { la, lb };
}

const until = async (cond: () => boolean, what: string) => {
  const end = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
};

t.test('payloads flow in order both ways and acks empty the outboxes', async (t) => {
  const a = side();
  const b = side();
  await connect(a, b);
  const seqs = await Promise.all(Array.from({ length: 50 }, (_, i) => a.session.send('test.msg', { i })));
  t.same(seqs, Array.from({ length: 50 }, (_, i) => i + 1), 'seqs 1..50 in call order');
  for (let i = 0; i < 20; i++) await b.session.send('test.msg', { i });
  await until(() => b.got.length === 50 && a.got.length === 20, 'delivery');
  t.same(b.got.map((g) => (g.body as { i: number }).i), Array.from({ length: 50 }, (_, i) => i));
  await until(() => a.outbox.frames.length === 0 && b.outbox.frames.length === 0, 'acks');
  t.equal(a.session.status().backlog, 0);
  t.equal(b.hw.hw, 50);
});

t.test('after a reconnect every unacknowledged frame is re-sent, in order, exactly once', async (t) => {
  const a = side();
  const b = side();
  const first = await connect(a, b);
  for (let i = 1; i <= 5; i++) await a.session.send('test.msg', i);
  await until(() => b.got.length === 5 && a.outbox.frames.length === 0, 'first five');
  first.la.cut = true; // the next frames are lost on the wire
  for (let i = 6; i <= 10; i++) await a.session.send('test.msg', i);
  await until(() => first.la.written.filter((f) => f.t === 'data').length === 10, 'written, but lost');
  a.session.detach(first.la);
  b.session.detach(first.lb);
  t.equal(a.session.status().backlog, 5);
  await connect(a, b);
  await until(() => b.got.length === 10, 're-sent frames');
  await until(() => a.outbox.frames.length === 0, 'acked');
  t.same(b.got.map((g) => g.body), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  t.equal(a.session.status().resent, 5, 'the five lost frames were re-sent');
});

t.test('duplicates are acknowledged and dropped', async (t) => {
  const b = side();
  const link = new TestLink();
  await b.session.attach(link, { peerRecvSeq: 0 });
  const data = (seq: number) => ({ t: 'data', seq, type: 'test.msg', body: seq }) as PluginFrame;
  b.session.onFrame(link, data(1));
  b.session.onFrame(link, data(2));
  await until(() => b.hw.hw === 2, 'processed');
  b.session.onFrame(link, data(1));
  b.session.onFrame(link, data(2));
  b.session.onFrame(link, data(3));
  await until(() => b.hw.hw === 3, 'processed');
  t.same(b.got.map((g) => g.seq), [1, 2, 3], 'each once');
  t.equal(b.session.status().duplicatesDropped, 2);
  t.ok(link.written.some((f) => f.t === 'ack' && f.seq === 2), 'a duplicate is answered with an ack of what is done');
  t.equal(link.closedWith, null);
});

t.test('a gap in the sequence closes the link (GW_PLUGIN_SEQUENCE) and nothing is processed', async (t) => {
  const b = side();
  const link = new TestLink();
  await b.session.attach(link, { peerRecvSeq: 0 });
  b.session.onFrame(link, { t: 'data', seq: 1, type: 'test.msg', body: 1 } as PluginFrame);
  b.session.onFrame(link, { t: 'data', seq: 3, type: 'test.msg', body: 3 } as PluginFrame);
  t.equal(link.closedWith?.code, 'GW_PLUGIN_SEQUENCE');
  t.match(link.closedWith?.message, /expected seq 2, got 3/);
  t.notOk(b.session.connected, 'detached');
  await b.session.settledHighWater();
  t.ok(b.hw.hw <= 1, 'frame 3 was not processed');
});

t.test('an ack of a frame never sent closes the link', async (t) => {
  const a = side();
  const link = new TestLink();
  await a.session.attach(link, { peerRecvSeq: 0 });
  await a.session.send('test.msg', 1);
  a.session.onFrame(link, { t: 'ack', seq: 5 } as PluginFrame);
  t.equal(link.closedWith?.code, 'GW_PLUGIN_SEQUENCE');
});

t.test('backpressure: at most maxUnacked frames on the wire until acks come', async (t) => {
  const a = side();
  const link = new TestLink();
  await a.session.attach(link, { peerRecvSeq: 0, maxUnacked: 4 });
  await Promise.all(Array.from({ length: 10 }, (_, i) => a.session.send('test.msg', i)));
  await until(() => link.written.length >= 4, 'window filled');
  await new Promise((r) => setImmediate(r));
  t.same(link.written.map((f) => (f.t === 'data' ? f.seq : -1)), [1, 2, 3, 4], 'only the window is written');
  t.equal(a.session.status().backlog, 10, 'all ten are durable and waiting');
  a.session.onFrame(link, { t: 'ack', seq: 2 } as PluginFrame);
  await until(() => link.written.length === 6, 'two more');
  t.same(link.written.slice(4).map((f) => (f.t === 'data' ? f.seq : -1)), [5, 6]);
  const receiver = side();
  const rl = new TestLink();
  await receiver.session.attach(rl, { peerRecvSeq: 0, maxUnacked: 2 });
  receiver.dispatcher.onIdempotent('test.slow', () => new Promise(() => {})); // never finishes: nothing is acked
  for (let seq = 1; seq <= 3; seq++) receiver.session.onFrame(rl, { t: 'data', seq, type: 'test.slow', body: null } as PluginFrame);
  t.equal(rl.closedWith?.code, 'GW_PLUGIN_SEQUENCE', 'a sender that ignores the window is refused');
});

t.test('a handler that throws stops the stream at that frame; it is retried after a reconnect', async (t) => {
  const b = side();
  let fail = true;
  b.dispatcher.on('test.flaky', (body, ctx) => {
    if (fail) throw new Error('database busy');
    b.got.push({ seq: ctx.seq, body });
  });
  const link = new TestLink();
  await b.session.attach(link, { peerRecvSeq: 0 });
  b.session.onFrame(link, { t: 'data', seq: 1, type: 'test.msg', body: 'ok' } as PluginFrame);
  await until(() => b.hw.hw === 1, 'first');
  b.session.onFrame(link, { t: 'data', seq: 2, type: 'test.flaky', body: 'x' } as PluginFrame);
  await until(() => link.closedWith !== null, 'closed');
  t.equal(link.closedWith?.code, 'GW_INTERNAL');
  t.equal(await b.session.settledHighWater(), 1, 'the failed frame is not marked processed');
  fail = false;
  const again = new TestLink();
  await b.session.attach(again, { peerRecvSeq: 0 });
  b.session.onFrame(again, { t: 'data', seq: 2, type: 'test.flaky', body: 'x' } as PluginFrame);
  await until(() => b.hw.hw === 2, 'retried');
  t.same(b.got.map((g) => g.body), ['ok', 'x']);
});

t.test('transactional handlers share the high-water transaction; idempotent ones run before it', async (t) => {
  const hw = new MemHighWater();
  const d = new PayloadDispatcher(hw);
  const seen: string[] = [];
  d.on('a.tx', (_b, ctx) => void seen.push(`tx${ctx.seq}`));
  d.onIdempotent('a.idem', async (_b, ctx) => void seen.push(`idem${ctx.key}`));
  const unhandled: number[] = [];
  const d2 = new PayloadDispatcher(hw, (ctx) => void unhandled.push(ctx.seq));
  await d.apply([
    { t: 'data', seq: 1, type: 'a.tx', body: null },
    { t: 'data', seq: 2, type: 'a.idem', body: null },
    { t: 'data', seq: 3, type: 'a.tx', body: null },
  ] as never);
  t.same(seen, ['tx1', 'idemadapter-1#2', 'tx3']);
  t.equal(hw.hw, 3);
  d.on('a.bad', () => {
    throw new Error('no');
  });
  await t.rejects(d.apply([{ t: 'data', seq: 4, type: 'a.tx', body: null }, { t: 'data', seq: 5, type: 'a.bad', body: null }] as never));
  t.equal(hw.hw, 3, 'the whole transaction rolled back');
  await d2.apply([{ t: 'data', seq: 4, type: 'zz.unknown', body: null }] as never);
  t.same(unhandled, [4], 'unknown types are reported and skipped');
  t.equal(hw.hw, 4);
});

t.test('heartbeats: ping when idle, close when nothing arrives', async (t) => {
  const a = side();
  const link = new TestLink();
  await a.session.attach(link, { peerRecvSeq: 0, heartbeatIntervalMs: 1000, idleTimeoutMs: 3000 });
  a.timers.advance(1500);
  t.ok(link.written.some((f) => f.t === 'ping'), 'ping sent');
  a.session.onFrame(link, { t: 'ping' } as PluginFrame);
  a.timers.advance(2000);
  t.equal(link.closedWith, null, 'a frame arrived in time');
  a.timers.advance(2000);
  t.equal(link.closedWith?.code, 'GW_HEARTBEAT_TIMEOUT');
});

t.test('a peer that has seen more than this side knows: the counter jumps past it', async (t) => {
  const a = side();
  const warnings: string[] = [];
  const s = new PluginSession({ outbox: a.outbox, inbox: a.dispatcher, timers: a.timers, onWarning: (m) => void warnings.push(m) });
  const link = new TestLink();
  await s.attach(link, { peerRecvSeq: 40 });
  t.equal(await s.send('test.msg', 'x'), 41, 'new frames continue after the peer high-water');
  t.match(warnings[0], /restored database/);
});

t.test('send refuses bad types and oversized bodies at once; close refuses later sends', async (t) => {
  const a = side();
  t.throws(() => a.session.send('Bad Type', 1), PluginProtocolError);
  t.throws(() => a.session.send('test.big', 'x'.repeat(1024 * 1024)), { code: 'GW_FRAME_TOO_LARGE' });
  const p = a.session.send('test.msg', 1);
  await a.session.close();
  t.equal(await p, 1, 'queued sends are stored by close');
  await t.rejects(a.session.send('test.msg', 2), { code: 'GW_SERVER_SHUTDOWN' });
});

t.test('wire helpers', async (t) => {
  t.equal(negotiateVersion([1, 2, 3]), 1);
  t.equal(negotiateVersion([2]), null);
  for (let attempt = 0; attempt < 12; attempt++) {
    const lo = reconnectDelayMs(attempt, 500, 30_000, () => 0);
    const hi = reconnectDelayMs(attempt, 500, 30_000, () => 1);
    t.ok(lo >= 500 && hi <= 30_000 && lo <= hi, `attempt ${attempt}: ${lo}..${hi}`);
  }
  t.equal(reconnectDelayMs(20, 500, 30_000, () => 1), 30_000, 'capped');
  const bad = [
    null, [], { t: 'nope' }, { t: 'data', seq: 0, type: 'a', body: 1 }, { t: 'data', seq: 1, type: 'A B', body: 1 }, { t: 'data', seq: 1, type: 'a' },
    { t: 'hello', versions: [], adapterId: 'x', code: 'c', recvSeq: 0 }, { t: 'hello', versions: [1], adapterId: '../x', code: 'c', recvSeq: 0 },
    { t: 'hello', versions: [1], adapterId: 'x', code: '', recvSeq: 0 }, { t: 'ack', seq: -1 }, { t: 'ping', extra: 1 },
  ];
  for (const b of bad) t.throws(() => validatePluginFrame(b), { code: 'GW_BAD_FRAME' }, JSON.stringify(b));
  t.throws(() => decodePluginFrame(Buffer.from([0xff, 0xfe])), { code: 'GW_BAD_FRAME' });
  t.same(validatePluginFrame({ t: 'data', seq: 1, type: 'im.send', body: null }), { t: 'data', seq: 1, type: 'im.send', body: null });
});
