import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { FromAdapter, ToAdapter, type Delivery, type ImSend } from '../../gateway/src/protocol/rtx-bridge-v1.js';
import { Bridge, type BridgeChannel } from '../../rtx-adapter/src/bridge.js';
import { BridgeStore } from '../../rtx-adapter/src/bridge-store.js';
import { imConversation } from '../../rtx-adapter/src/deliveries.js';
import { AdapterStore } from '../../rtx-adapter/src/outbox.js';
import type { ImToRtx, NotifyToRtx, SenderPort } from '../../rtx-adapter/src/ports.js';
import { pairSessionKey } from '../../rtx-adapter/src/session-keys.js';

/**
 * The adapter's delivery queue keeps one conversation's sends in order even when the gateway
 * starts naming the RTX session part way through it: the gateway adds `sessionKey` to a pair's
 * `gw.im.send` once a captured message told it the session (relay.ts, rememberPair), so the
 * sends of one conversation arrive first without it and then with it.
 */

const quiet = { info: () => undefined, warn: () => undefined };

/** An RTX whose SendIM answers only when the test lets it: `started` in call order, `accepted` in the order RTX took them. */
class GatedRtx implements SenderPort {
  readonly name = 'sdk' as const;
  readonly started: Array<{ m: ImToRtx; accept: () => void }> = [];
  readonly accepted: string[] = [];
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  sendIm(m: ImToRtx): Promise<void> {
    return new Promise<void>((resolve) => {
      this.started.push({
        m,
        accept: () => {
          this.accepted.push(m.text);
          resolve();
        },
      });
      for (const w of this.waiters.filter((x) => this.started.length >= x.n)) w.resolve();
      this.waiters = this.waiters.filter((x) => this.started.length < x.n);
    });
  }

  sendNotify(_n: NotifyToRtx): Promise<void> {
    return Promise.resolve();
  }

  /** Resolves once `n` SendIM calls have started. */
  startedCount(n: number): Promise<void> {
    if (this.started.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

/** The bridge over a real adapter store, with the channel faked: payload handlers run in the store's transaction, as PluginChannel runs them. */
function setup(t: { teardown(fn: () => unknown): void }, rtx: GatedRtx, dataDir?: string) {
  const dir = dataDir ?? mkdtempSync(path.join(tmpdir(), 'huitong-deliveries-'));
  if (!dataDir) t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = AdapterStore.open(dir);
  const bstore = new BridgeStore(store.db);
  const handlers = new Map<string, (body: unknown, ctx: { key: string; seq: number }) => void>();
  const deliveries: Delivery[] = [];
  let seq = 0;
  const channel: BridgeChannel = {
    send: (type, body) => {
      if (type === FromAdapter.Delivery) deliveries.push(body as Delivery);
      return Promise.resolve(++seq);
    },
    on: (type, handler) => void handlers.set(type, handler),
  };
  const bridge = new Bridge({ channel, store: bstore, directory: null, captures: [], sender: rtx, presence: null, portStates: () => ({ sdk: 'up' }), log: quiet, opts: { statusCheckMs: 60_000, probeAfterMs: 0 } });
  let inSeq = 0;
  const imSend = (m: ImSend) => {
    const h = handlers.get(ToAdapter.ImSend);
    if (!h) throw new Error('no gw.im.send handler');
    inSeq += 1;
    store.transaction(() => h(m, { key: `gw#${inSeq}`, seq: inSeq }));
  };
  const stop = async () => {
    await bridge.stop();
    store.close();
  };
  return { bridge, bstore, imSend, deliveries, stop };
}

const pair = pairSessionKey('10086', 'u000006');
const m2r = (i: number, sessionKey?: string): ImSend => ({
  ref: `m${1000 + i}`, sender: '10086', receivers: ['u000006'], text: `m2r-5:${String(i).padStart(4, '0')}`, sentAtMs: 0, ...(sessionKey ? { sessionKey } : {}),
});

t.test('the lane of a send is its conversation: the session key does not move it', async (t) => {
  t.equal(imConversation(m2r(49)), imConversation(m2r(50, pair)), 'a 1:1 send with and without the session key');
  t.equal(imConversation(m2r(50, pair)), imConversation(m2r(51, '{0E4C8F58-0000-4000-8000-000000000001}')), 'with another session key of the pair');
  t.equal(imConversation({ sender: 'U000006', receivers: ['10086'] }), imConversation(m2r(1)), 'either direction, any case');
  t.not(imConversation(m2r(1)), imConversation({ sender: '10086', receivers: ['u000012'] }), 'another pair is another lane');
  const g = { id: '{1045653E-21FF-41F3-8C4E-B7079EA85A95}', name: '混沌丙组' };
  t.equal(imConversation({ sender: '10086', receivers: ['u000010', 'u000011'], group: g }), imConversation({ sender: '10086', receivers: ['u000010'], group: g }), 'a group is one lane whoever receives');
  t.not(imConversation({ sender: '10086', receivers: ['u000010', 'u000011'] }), imConversation({ sender: '10086', receivers: ['u000010'] }), 'a multi-person send (no group) is not the 1:1 lane');
});

t.test('a send that gained the session key waits for the one before it that had none', async (t) => {
  const rtx = new GatedRtx();
  const a = setup(t, rtx);
  t.teardown(() => {
    for (const s of rtx.started) s.accept();
    return a.stop();
  });
  await a.bridge.start();
  // m2r-5:0049 goes out before the gateway knew the RTX session; m2r-5:0050 after it learnt it
  a.imSend(m2r(49));
  a.imSend(m2r(50, pair));
  await rtx.startedCount(1);
  // the worker starts every job it may in one pass, so a second SendIM would have started by now
  t.same(rtx.started.map((s) => s.m.text), ['m2r-5:0049'], 'only the earlier send is in flight');
  t.equal(rtx.started[0]?.m.sessionKey, pair, 'it goes into the pair session');
  // RTX answers the newest request first, as a loaded server may
  for (const s of [...rtx.started].reverse()) s.accept();
  await rtx.startedCount(2);
  t.equal(rtx.started[1]?.m.text, 'm2r-5:0050', 'the later send starts once the earlier one was accepted');
  (rtx.started[1] as { accept: () => void }).accept();
  t.same(rtx.accepted, ['m2r-5:0049', 'm2r-5:0050'], 'RTX has them in order');
});

t.test('jobs queued with session-key lanes by an earlier version are one conversation again after a restart', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'huitong-deliveries-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  {
    const store = AdapterStore.open(dir);
    const bstore = new BridgeStore(store.db);
    bstore.enqueueJob({ ref: 'm1049', kind: 'im', body: m2r(49), conv: `p:${pair}` });
    bstore.enqueueJob({ ref: 'm1050', kind: 'im', body: m2r(50, pair), conv: `s:${pair}` });
    store.close();
  }
  const rtx = new GatedRtx();
  const a = setup(t, rtx, dir);
  t.teardown(() => {
    for (const s of rtx.started) s.accept();
    return a.stop();
  });
  await a.bridge.start();
  await rtx.startedCount(1);
  t.same(rtx.started.map((s) => s.m.text), ['m2r-5:0049'], 'only the earlier send is in flight');
  for (const s of [...rtx.started].reverse()) s.accept();
  await rtx.startedCount(2);
  (rtx.started[1] as { accept: () => void }).accept();
  t.same(rtx.accepted, ['m2r-5:0049', 'm2r-5:0050'], 'RTX has them in order');
});
