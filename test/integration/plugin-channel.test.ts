import t from 'tap';
import net from 'node:net';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { encodeFrame, FrameDecoder } from '../../gateway/src/protocol/framing.js';
import { PLUGIN_BAD_CODES_PER_WINDOW } from '../../gateway/src/protocol/plugin-v1.js';
import { MAX_PENDING_HANDSHAKES } from '../../gateway/src/edges/plugin/server.js';
import { PluginChannel, type ChannelState } from '../../rtx-adapter/src/channel.js';
import { AdapterStore } from '../../rtx-adapter/src/outbox.js';
import { ConfigError } from '../../gateway/src/config/load.js';
import { buildGateway } from '../../gateway/src/gateway.js';
import { createLogger } from '../../gateway/src/log.js';
import { startGateway, tempDir, testConfig, type TestGateway } from '../helpers/gateway.js';
import { runCli } from '../helpers/process.js';

type Frame = Record<string, unknown> & { t: string };

const DEADLINE_MS = 120_000;

/** Waits until cond() holds, re-checking every 20 ms, or fails after the deadline. */
async function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A hand-driven TLS connection to the plugin port, for frames no real adapter sends. */
class RawPlugin {
  readonly frames: Frame[] = [];
  readonly ended: Promise<Frame | null>;
  private readonly socket: tls.TLSSocket;
  private readonly decoder = new FrameDecoder(Number.MAX_SAFE_INTEGER);

  constructor(port: number, ca: string) {
    this.socket = tls.connect({ host: '127.0.0.1', port, ca });
    this.socket.on('data', (c: Buffer) => {
      for (const f of this.decoder.push(c)) this.frames.push(JSON.parse(f.toString('utf8')) as Frame);
    });
    this.socket.on('error', () => {});
    this.ended = new Promise((resolve) => this.socket.on('close', () => resolve(this.frames.find((f) => f.t === 'bye') ?? null)));
  }

  ready(): Promise<void> {
    return new Promise((resolve) => this.socket.once('secureConnect', () => resolve()));
  }

  send(frame: object | Buffer): void {
    this.socket.write(Buffer.isBuffer(frame) ? frame : encodeFrame(JSON.stringify(frame), Number.MAX_SAFE_INTEGER));
  }

  hello(code: string, extra: Record<string, unknown> = {}): void {
    this.send({ t: 'hello', versions: [1], adapterId: 'raw-adapter', code, recvSeq: 0, ...extra });
  }

  async next(t: string): Promise<Frame> {
    await waitFor(() => this.frames.some((f) => f.t === t) || this.socket.destroyed, `a ${t} frame`);
    const f = this.frames.find((x) => x.t === t);
    if (!f) throw new Error(`connection closed without ${t}: ${JSON.stringify(this.frames)}`);
    return f;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function pluginPort(g: TestGateway): number {
  const p = g.gw.ports().plugin;
  if (!p) throw new Error('plugin listener is not up');
  return p;
}

function channel(t: { teardown(fn: () => unknown): void }, g: { port: number; ca: string }, store: AdapterStore, code: string, extra: { badCodeRetryMs?: number } = {}): PluginChannel {
  const c = new PluginChannel({
    host: '127.0.0.1', port: g.port, code, store, name: 'test-rtx', software: 'test',
    tls: { ca: g.ca },
    reconnect: { minDelayMs: 10, maxDelayMs: 100, ...extra },
  });
  t.teardown(() => c.stop());
  return c;
}

function stateOf(c: PluginChannel, want: ChannelState, ms = 20_000): Promise<void> {
  return waitFor(() => c.status().state === want, `adapter state ${want} (now ${c.status().state}: ${c.status().lastError})`, ms);
}

t.test('an adapter connects over TLS; payloads flow both ways; the console shows code and status', async (t) => {
  const g = await startGateway(t);
  const code = g.gw.services.rtxCode.current().code;
  t.match(code, /^[A-Z2-9]{4}(-[A-Z2-9]{4}){3}$/, 'a code was generated at first start');
  const store = AdapterStore.open(tempDir(t));
  t.teardown(() => store.close());
  const c = channel(t, { port: pluginPort(g), ca: g.ca }, store, code.toLowerCase().replace(/-/g, ' '));
  const atAdapter: unknown[] = [];
  c.on('test.down', (body) => void atAdapter.push(body));
  const atGateway: unknown[] = [];
  g.gw.plugin.on('test.up', (body) => void atGateway.push(body));
  await c.start();
  await stateOf(c, 'CONNECTED');
  await g.gw.plugin.send('test.down', { hi: 'adapter' });
  await c.send('test.up', { hi: 'gateway' });
  await waitFor(() => atAdapter.length === 1 && atGateway.length === 1, 'both payloads');
  t.same(atAdapter, [{ hi: 'adapter' }]);
  t.same(atGateway, [{ hi: 'gateway' }]);
  const status = g.gw.plugin.status();
  t.match(status, { state: 'CONNECTED', adapter: { id: store.adapterId, name: 'test-rtx', software: 'test', address: '127.0.0.1' }, inbound: { highWater: 1 } });

  // the console: code and status need the settings right; regenerating disconnects the adapter
  const json = { 'content-type': 'application/json' };
  let r = await fetch(`${g.http}/api/admin/setup/admin`, { method: 'POST', headers: { ...json, origin: g.http }, body: JSON.stringify({ username: 'root', password: 'root-password-1' }) });
  t.equal(r.status, 201);
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const me = (await (await fetch(`${g.http}/api/admin/me`, { headers: { cookie } })).json()) as { csrfToken: string };
  t.equal((await fetch(`${g.http}/api/admin/rtx/code`)).status, 401, 'not without a login');
  r = await fetch(`${g.http}/api/admin/rtx/code`, { headers: { cookie } });
  t.match(await r.json(), { code });
  r = await fetch(`${g.http}/api/admin/rtx/status`, { headers: { cookie } });
  t.match(await r.json(), { state: 'CONNECTED', adapter: { id: store.adapterId } });
  r = await fetch(`${g.http}/api/admin/status`, { headers: { cookie } });
  t.match(JSON.stringify(await r.json()), /"plugin"/, 'the plugin listener is listed');
  r = await fetch(`${g.http}/api/admin/rtx/code`, { method: 'POST', headers: { cookie, ...json, origin: g.http, 'x-csrf-token': me.csrfToken }, body: '{}' });
  t.equal(r.status, 200);
  const fresh = ((await r.json()) as { code: string }).code;
  t.not(fresh, code, 'a new code');
  await waitFor(() => c.status().state === 'BAD_CREDENTIALS' && g.gw.plugin.status().state === 'WAITING', 'the adapter to be disconnected');
  t.match(c.status().lastError, /GW_PLUGIN_CODE_CHANGED/);
  r = await fetch(`${g.http}/api/admin/log`, { headers: { cookie } });
  const log = await r.text();
  t.match(log, /rtx\.code\.regenerate/, 'the action log records the regeneration');
  t.notMatch(log, new RegExp(fresh), 'but not the code');
});

t.test('wrong codes are refused with GW_PLUGIN_CODE_INVALID, then rate-limited per address', async (t) => {
  const g = await startGateway(t);
  const port = pluginPort(g);
  const code = g.gw.services.rtxCode.current().code;
  for (let i = 0; i < PLUGIN_BAD_CODES_PER_WINDOW; i++) {
    const raw = new RawPlugin(port, g.ca);
    raw.hello('WRONG-CODE-0000');
    const bye = await raw.ended;
    t.match(bye, { t: 'bye', code: 'GW_PLUGIN_CODE_INVALID', message: /connection code is wrong/ }, `attempt ${i + 1}`);
  }
  let raw = new RawPlugin(port, g.ca);
  raw.hello('WRONG-CODE-0000');
  let bye = await raw.ended;
  t.match(bye, { code: 'GW_RATE_LIMITED' });
  t.ok((bye?.retryAfterMs as number) > 0 && (bye?.retryAfterMs as number) <= 60_000, 'with a delay');
  raw = new RawPlugin(port, g.ca);
  raw.hello(code);
  bye = await raw.ended;
  t.match(bye, { code: 'GW_RATE_LIMITED' }, 'while blocked, even the right code waits');
  // an adapter that keeps its wrong code reports BAD_CREDENTIALS and retries slowly
  const other = await startGateway(t);
  const store = AdapterStore.open(tempDir(t));
  t.teardown(() => store.close());
  const c = channel(t, { port: pluginPort(other), ca: other.ca }, store, 'NOT-THE-CODE', { badCodeRetryMs: 60_000 });
  await c.start();
  await stateOf(c, 'BAD_CREDENTIALS');
  t.match(c.status().lastError, /GW_PLUGIN_CODE_INVALID/);
});

t.test('bad input on 7014: clear closes, no crash, and the channel keeps serving', async (t) => {
  const g = await startGateway(t);
  const port = pluginPort(g);
  const code = g.gw.services.rtxCode.current().code;
  const cases: { what: string; send: (r: RawPlugin) => void; code: string }[] = [
    { what: 'not JSON', send: (r) => r.send(encodeFrame('{{{ garbage', 1000)), code: 'GW_BAD_FRAME' },
    { what: 'invalid UTF-8', send: (r) => r.send(Buffer.from([0, 0, 0, 2, 0xff, 0xfe])), code: 'GW_BAD_FRAME' },
    { what: 'oversized header', send: (r) => r.send(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3])), code: 'GW_FRAME_TOO_LARGE' },
    { what: 'data before hello', send: (r) => r.send({ t: 'data', seq: 1, type: 'x.y', body: null }), code: 'GW_HANDSHAKE_REQUIRED' },
    { what: 'hello missing fields', send: (r) => r.send({ t: 'hello', versions: [1] }), code: 'GW_BAD_FRAME' },
    { what: 'unknown version', send: (r) => r.hello(code, { versions: [7] }), code: 'GW_VERSION_UNSUPPORTED' },
    { what: 'a JSON array', send: (r) => r.send(encodeFrame('[1,2]', 100)), code: 'GW_BAD_FRAME' },
  ];
  for (const c of cases) {
    const raw = new RawPlugin(port, g.ca);
    c.send(raw);
    const bye = await raw.ended;
    t.equal(bye?.code, c.code, c.what);
    t.ok(typeof bye?.message === 'string' && (bye.message as string).length > 0, `${c.what}: says why`);
    if (c.code === 'GW_VERSION_UNSUPPORTED') t.same(bye?.supported, [1], 'names the versions it speaks');
  }
  // raw bytes without TLS on the TLS port: the TLS layer refuses them, the server goes on
  await new Promise<void>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\n\r\n'));
    s.on('error', () => {});
    s.on('close', () => resolve());
  });

  // an authenticated adapter breaking the sequence is closed; two adapters: same id replaces, another id is refused
  const a = new RawPlugin(port, g.ca);
  a.hello(code);
  t.match(await a.next('welcome'), { v: 1, recvSeq: 0, maxUnacked: 256 });
  const b = new RawPlugin(port, g.ca);
  b.hello(code, { adapterId: 'another-adapter' });
  t.match(await b.ended, { code: 'GW_PLUGIN_BUSY', retryAfterMs: 30_000 });
  const a2 = new RawPlugin(port, g.ca);
  a2.hello(code);
  await a2.next('welcome');
  t.match(await a.ended, { code: 'GW_PLUGIN_REPLACED' });
  a2.send({ t: 'data', seq: 2, type: 'test.up', body: 1 });
  t.match(await a2.ended, { code: 'GW_PLUGIN_SEQUENCE', message: /expected seq 1, got 2/ });
  const a3 = new RawPlugin(port, g.ca);
  a3.hello(code);
  await a3.next('welcome');
  a3.send(Buffer.from([0, 0, 0, 3, 0x31, 0x32, 0x33]).subarray(0, 6)); // a frame cut short, then garbage
  a3.send(encodeFrame('nope', 100));
  const bye3 = await a3.ended;
  t.equal(bye3?.code, 'GW_BAD_FRAME', 'garbage after the handshake');

  // still serving, nothing lost: a real adapter connects and both directions work
  const got: unknown[] = [];
  g.gw.plugin.on('test.up', (body) => void got.push(body));
  await g.gw.plugin.send('test.down', 'queued while nobody was connected');
  const store = AdapterStore.open(tempDir(t));
  t.teardown(() => store.close());
  const c = channel(t, { port, ca: g.ca }, store, code);
  const down: unknown[] = [];
  c.on('test.down', (body) => void down.push(body));
  await c.start();
  await c.send('test.up', 'after the bad input');
  await waitFor(() => got.length === 1 && down.length === 1, 'payloads after bad input');
  t.same(down, ['queued while nobody was connected'], 'frames queued for an earlier adapter id are handed to the new one');
  t.same(got, ['after the bad input']);
});

t.test('more connections in their handshake than allowed: refused with GW_RATE_LIMITED, the gateway keeps serving', async (t) => {
  const g = await startGateway(t);
  const port = pluginPort(g);
  // silent connections (no hello) hold handshake slots; the next one is refused at once
  const silent: RawPlugin[] = [];
  for (let i = 0; i < MAX_PENDING_HANDSHAKES; i++) {
    const r = new RawPlugin(port, g.ca);
    silent.push(r);
    await r.ready();
  }
  // refused before its handshake timer existed: this used to throw a ReferenceError and take the gateway down
  const extra = new RawPlugin(port, g.ca);
  t.match(await extra.ended, { t: 'bye', code: 'GW_RATE_LIMITED' });
  for (const r of silent) r.destroy();
  const store = AdapterStore.open(tempDir(t));
  t.teardown(() => store.close());
  const c = channel(t, { port, ca: g.ca }, store, g.gw.services.rtxCode.current().code);
  await c.start();
  await stateOf(c, 'CONNECTED');
});

t.test('the certificate pin: right fingerprint connects, a wrong one does not', async (t) => {
  const g = await startGateway(t);
  const port = pluginPort(g);
  const code = g.gw.services.rtxCode.current().code;
  const fp = new X509Certificate(g.ca).fingerprint256;
  const mk = (fingerprint256: string) => {
    const store = AdapterStore.open(tempDir(t));
    t.teardown(() => store.close());
    const c = new PluginChannel({ host: '127.0.0.1', port, code, store, tls: { fingerprint256 }, reconnect: { minDelayMs: 10, maxDelayMs: 50 } });
    t.teardown(() => c.stop());
    return c;
  };
  const good = mk(fp.toLowerCase());
  await good.start();
  await stateOf(good, 'CONNECTED');
  await good.stop();
  const bad = mk('00:11:22');
  await bad.start();
  await waitFor(() => /not the pinned one/.test(bad.status().lastError ?? ''), 'a pin mismatch');
  t.not(bad.status().state, 'CONNECTED');
});

t.test('huitong rtx code shows and regenerates the code (no server running)', async (t) => {
  const dir = tempDir(t);
  const first = await runCli(['rtx', 'code', '--data', dir]);
  t.equal(first.code, 0, first.stderr);
  const code = first.stdout.trim();
  t.match(code, /^[A-Z2-9]{4}(-[A-Z2-9]{4}){3}$/);
  const again = await runCli(['rtx', 'code', '--data', dir]);
  t.equal(again.stdout.trim(), code, 'stable');
  const regen = await runCli(['rtx', 'code', '--regenerate', '--data', dir]);
  t.equal(regen.code, 0, regen.stderr);
  t.not(regen.stdout.trim(), code);
  t.match(regen.stderr, /new connection code/);
  const usage = await runCli(['rtx', 'nope', '--data', dir]);
  t.equal(usage.code, 64);
});

/** A TCP proxy that delays every chunk a little (keeping order), and cuts connections after some traffic and at random times. */
class ChaosProxy {
  readonly server = net.createServer((client) => this.accept(client));
  cuts = 0;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private timer: NodeJS.Timeout | null = null;

  constructor(public targetPort: number) {}

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    return (this.server.address() as net.AddressInfo).port;
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.pairs.add(pair);
    // each direction is cut after a random amount of traffic (the bytes before the cut still arrive),
    // so cuts land mid-stream however fast it flows
    const pipe = (from: net.Socket, to: net.Socket) => {
      let last = 0;
      let budget = 20_000 + Math.floor(Math.random() * 100_000);
      from.on('data', (chunk: Buffer) => {
        if (budget <= 0) return;
        const cut = chunk.length >= budget;
        const part = cut ? chunk.subarray(0, budget) : chunk;
        budget -= chunk.length;
        const now = Date.now();
        const at = Math.max(last, now + Math.floor(Math.random() * 4));
        last = at;
        setTimeout(() => {
          if (!to.destroyed) to.write(part);
          if (cut) {
            this.cuts += 1;
            end();
          }
        }, at - now);
      });
    };
    pipe(client, upstream);
    pipe(upstream, client);
    const end = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of pair) {
      s.on('error', end);
      s.on('close', end);
    }
  }

  cutAll(): void {
    if (this.pairs.size > 0) this.cuts += 1;
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
  }

  /** Also cuts every connection at random intervals of 100–400 ms until stopped. */
  startChaos(): void {
    const next = () => {
      this.timer = setTimeout(() => {
        this.cutAll();
        next();
      }, 100 + Math.random() * 300);
    };
    next();
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.cutAll();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

t.test('chaos: cuts, delays, an adapter restart and a gateway restart; 2,000 payloads each way arrive exactly once, in order', { timeout: 300_000 }, async (t) => {
  const TOTAL = 2000;
  const CONVERSATIONS = 10;
  const dataDir = tempDir(t);
  const adapterDir = tempDir(t);

  // the gateway's handler writes in the transaction that raises its high-water
  const wireGateway = (g: TestGateway) => {
    const db = g.gw.services.db;
    db.exec('CREATE TABLE IF NOT EXISTS test_rx (id INTEGER PRIMARY KEY, conv TEXT NOT NULL, n INTEGER NOT NULL, seq INTEGER NOT NULL)');
    const ins = db.prepare('INSERT INTO test_rx (conv, n, seq) VALUES (?, ?, ?)');
    g.gw.plugin.on('test.up', (body, ctx) => {
      const b = body as { conv: string; n: number };
      ins.run(b.conv, b.n, ctx.seq);
    });
    return () => (db.prepare('SELECT COUNT(*) AS c FROM test_rx').get() as { c: number }).c;
  };
  const wireAdapter = (store: AdapterStore, c: PluginChannel) => {
    store.db.exec('CREATE TABLE IF NOT EXISTS test_rx (id INTEGER PRIMARY KEY, conv TEXT NOT NULL, n INTEGER NOT NULL, seq INTEGER NOT NULL)');
    const ins = store.db.prepare('INSERT INTO test_rx (conv, n, seq) VALUES (?, ?, ?)');
    c.on('test.down', (body, ctx) => {
      const b = body as { conv: string; n: number };
      ins.run(b.conv, b.n, ctx.seq);
    });
    return () => (store.db.prepare('SELECT COUNT(*) AS c FROM test_rx').get() as { c: number }).c;
  };
  const payload = (n: number) => ({ conv: `conv-${n % CONVERSATIONS}`, n, pad: 'x'.repeat(n % 7 === 0 ? 3000 : 40) });

  let g = await startGateway(t, { dataDir });
  const code = g.gw.services.rtxCode.current().code;
  let gwCount = wireGateway(g);
  const proxy = new ChaosProxy(pluginPort(g));
  const proxyPort = await proxy.listen();
  t.teardown(() => proxy.close());

  const openAdapter = () => {
    const store = AdapterStore.open(adapterDir);
    const c = new PluginChannel({ host: '127.0.0.1', port: proxyPort, code, store, tls: { ca: g.ca, servername: 'localhost' }, reconnect: { minDelayMs: 10, maxDelayMs: 100 } });
    const count = wireAdapter(store, c);
    return { store, c, count };
  };
  let ad = openAdapter();
  const adapterId = ad.store.adapterId;
  t.teardown(async () => {
    await ad.c.stop();
    ad.store.close();
  });
  await ad.c.start();
  proxy.startChaos();

  const sendRange = async (from: number, to: number) => {
    const down: Promise<number>[] = [];
    const up: Promise<number>[] = [];
    for (let n = from; n < to; n++) {
      down.push(g.gw.plugin.send('test.down', payload(n)));
      up.push(ad.c.send('test.up', payload(n)));
    }
    await Promise.all([...down, ...up]);
  };

  // phase 1: flowing through the chaos
  await sendRange(0, 700);
  await waitFor(() => gwCount() >= 300 && ad.count() >= 300, 'phase 1 progress', DEADLINE_MS);

  // the adapter restarts: stop, close its database, reopen the same file
  await ad.c.stop();
  ad.store.close();
  ad = openAdapter();
  t.equal(ad.store.adapterId, adapterId, 'the same adapter id after a restart');
  await ad.c.start();
  await sendRange(700, 1400);
  await waitFor(() => gwCount() >= 1000 && ad.count() >= 1000, 'phase 2 progress', DEADLINE_MS);

  // the gateway restarts on the same data directory (new port behind the proxy)
  await g.gw.stop();
  g = await startGateway(t, { dataDir });
  gwCount = wireGateway(g);
  proxy.targetPort = pluginPort(g);
  await sendRange(1400, TOTAL);
  await waitFor(() => gwCount() === TOTAL && ad.count() === TOTAL, `all ${TOTAL} each way (gateway has ${gwCount()}, adapter ${ad.count()})`, DEADLINE_MS);
  await waitFor(() => g.gw.plugin.status().outbound.backlog === 0 && ad.c.status().backlog === 0, 'both outboxes acknowledged', DEADLINE_MS);

  const rows = (db: { prepare(sql: string): { all(): unknown[] } }) => db.prepare('SELECT conv, n, seq FROM test_rx ORDER BY id').all() as { conv: string; n: number; seq: number }[];
  for (const [where, list] of [['gateway', rows(g.gw.services.db)], ['adapter', rows(ad.store.db)]] as const) {
    t.equal(list.length, TOTAL, `${where}: ${TOTAL} effects`);
    t.same(list.map((r) => r.n), Array.from({ length: TOTAL }, (_, i) => i), `${where}: each payload exactly once, in the order sent`);
    const perConv = new Map<string, number[]>();
    for (const r of list) perConv.set(r.conv, [...(perConv.get(r.conv) ?? []), r.n]);
    t.ok([...perConv.values()].every((ns) => ns.every((n, i) => i === 0 || n > (ns[i - 1] as number))), `${where}: in order per conversation`);
    t.same(list.map((r) => r.seq), Array.from({ length: TOTAL }, (_, i) => i + 1), `${where}: seqs 1..${TOTAL}, no gaps`);
  }
  t.ok(proxy.cuts >= 10, `the proxy cut the connection ${proxy.cuts} times`);
  t.ok(ad.c.status().links + g.gw.plugin.status().counters.links >= 5, 'the link was re-established many times');
  const st = g.gw.plugin.status();
  t.equal(st.inbound.highWater, TOTAL);
  t.equal(ad.c.status().highWater, TOTAL);
});

t.test('plaintext only on loopback', async (t) => {
  const dir = tempDir(t);
  await t.rejects(buildGateway(testConfig(dir, { 'plugin.tls': false, 'plugin.host': '0.0.0.0' }), { log: createLogger('silent'), adminSocket: false }), ConfigError);
  const g = await startGateway(t, { config: { 'plugin.tls': false } });
  t.match(g.gw.urls().plugin, /^tcp:\/\//);
  const store = AdapterStore.open(tempDir(t));
  t.teardown(() => store.close());
  const c = new PluginChannel({ host: '127.0.0.1', port: pluginPort(g), code: g.gw.services.rtxCode.current().code, store, tls: false, reconnect: { minDelayMs: 10, maxDelayMs: 50 } });
  t.teardown(() => c.stop());
  await c.start();
  await stateOf(c, 'CONNECTED');
});
