import net from 'node:net';
import t from 'tap';
import {
  BadFrameError,
  FrameDecoder,
  FrameTooLargeError,
  TcpTransport,
  encodeFrame,
  encodeJsonFrame,
  parseJsonFrame,
  type TransportCloseInfo,
} from '../../client/src/index.js';
import { MAX_FRAME_BYTES } from '../../gateway/src/protocol/client-v1.js';

const texts = (bodies: Buffer[]): string[] => bodies.map((b) => b.toString('utf8'));

t.test('a frame is a 4-byte big-endian length then the UTF-8 body', async (t) => {
  const f = encodeFrame('{"t":"pong"}');
  t.equal(f.readUInt32BE(0), 12);
  t.equal(f.subarray(4).toString('utf8'), '{"t":"pong"}');
  const cjk = encodeFrame('汇通');
  t.equal(cjk.readUInt32BE(0), 6, 'length counts bytes, not characters');
});

t.test('frames split across chunks are reassembled, even one byte at a time', async (t) => {
  const wire = Buffer.concat([encodeJsonFrame({ t: 'msg', p: { text: '你好, world' } }), encodeJsonFrame({ t: 'pong', p: {} })]);
  const decoder = new FrameDecoder();
  const out: Buffer[] = [];
  for (let i = 0; i < wire.length; i++) out.push(...decoder.push(wire.subarray(i, i + 1)));
  t.same(out.map((b) => parseJsonFrame(b)), [{ t: 'msg', p: { text: '你好, world' } }, { t: 'pong', p: {} }]);
  t.equal(decoder.bufferedBytes, 0);
});

t.test('coalesced frames in one chunk come out in order, a trailing partial frame waits', async (t) => {
  const a = encodeFrame('{"n":1}');
  const b = encodeFrame('{"n":2}');
  const c = encodeFrame('{"n":3}');
  const decoder = new FrameDecoder();
  const first = decoder.push(Buffer.concat([a, b, c.subarray(0, 6)]));
  t.same(texts(first), ['{"n":1}', '{"n":2}']);
  t.equal(decoder.bufferedBytes, 6 - 4, 'header consumed, two body bytes held');
  t.same(texts(decoder.push(c.subarray(6))), ['{"n":3}']);
});

t.test('a header split across chunks is read correctly', async (t) => {
  const frame = encodeFrame('x'.repeat(70_000));
  const decoder = new FrameDecoder();
  t.same(decoder.push(frame.subarray(0, 2)), []);
  t.same(decoder.push(frame.subarray(2, 3)), []);
  t.same(decoder.push(frame.subarray(3, 40_000)), []);
  const [body] = decoder.push(frame.subarray(40_000));
  t.equal(body?.length, 70_000);
});

t.test('an empty frame yields an empty body, which is not valid JSON', async (t) => {
  const [body] = new FrameDecoder().push(encodeFrame(''));
  t.equal(body?.length, 0);
  t.throws(() => parseJsonFrame(body as Buffer), BadFrameError);
});

t.test('a frame exactly at the limit is accepted', async (t) => {
  const decoder = new FrameDecoder(16);
  t.same(texts(decoder.push(encodeFrame('a'.repeat(16), 16))), ['a'.repeat(16)]);
});

t.test('an oversized length is refused as soon as the header arrives', async (t) => {
  const decoder = new FrameDecoder();
  const header = Buffer.alloc(4);
  header.writeUInt32BE(MAX_FRAME_BYTES + 1);
  const err = t.throws(() => decoder.push(header)) as FrameTooLargeError;
  t.type(err, FrameTooLargeError);
  t.equal(err.size, MAX_FRAME_BYTES + 1);
  t.equal(err.limit, MAX_FRAME_BYTES);
  t.equal(decoder.bufferedBytes, 0, 'nothing of the oversized frame is kept');
  t.throws(() => decoder.push(encodeFrame('{}')), FrameTooLargeError, 'the stream stays refused');

  const mixed = new FrameDecoder();
  const oversized = t.throws(() => mixed.push(Buffer.concat([encodeFrame('{"n":1}'), header, Buffer.alloc(8)]))) as FrameTooLargeError;
  t.same(texts(oversized.frames), ['{"n":1}'], 'frames before the oversized one are handed over with the error');

  const hostile = Buffer.from([0xff, 0xff, 0xff, 0xff]);
  t.throws(() => new FrameDecoder().push(hostile), FrameTooLargeError, '4 GiB length');
});

t.test('the encoder refuses to build an oversized frame', async (t) => {
  t.throws(() => encodeFrame('a'.repeat(17), 16), FrameTooLargeError);
  t.throws(() => encodeFrame('é'.repeat(9), 16), FrameTooLargeError, 'the limit is in bytes');
});

t.test('bodies must be strict UTF-8 JSON', async (t) => {
  t.throws(() => parseJsonFrame(Buffer.from([0x7b, 0xc3, 0x28, 0x7d])), BadFrameError, 'invalid UTF-8');
  t.throws(() => parseJsonFrame(Buffer.from('{"t":')), BadFrameError, 'truncated JSON');
  t.same(parseJsonFrame(Buffer.from('{"t":"pong","p":{}}')), { t: 'pong', p: {} });
});

/** A plain TCP server that writes the given byte chunks with pauses, so they arrive as separate reads. */
async function serveChunks(chunks: Buffer[]): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    void (async () => {
      for (const c of chunks) {
        if (socket.destroyed) return;
        socket.write(c);
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `tcp://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

t.test('TcpTransport delivers frames split and coalesced across socket reads', async (t) => {
  const wire = Buffer.concat([
    encodeJsonFrame({ t: 'pong', p: {} }),
    encodeJsonFrame({ t: 'dir.changed', p: { version: 7 } }),
    encodeJsonFrame({ t: 'presence', p: { presence: [] } }),
  ]);
  const server = await serveChunks([wire.subarray(0, 3), wire.subarray(3, 20), wire.subarray(20)]);
  t.teardown(() => server.close());
  const transport = await TcpTransport.open(server.url);
  const frames: unknown[] = [];
  await new Promise<void>((resolve) => {
    transport.on('frame', (f) => {
      frames.push(f);
      if (frames.length === 3) resolve();
    });
  });
  t.same(frames, [
    { t: 'pong', p: {} },
    { t: 'dir.changed', p: { version: 7 } },
    { t: 'presence', p: { presence: [] } },
  ]);
  transport.close();
});

t.test('TcpTransport closes with GW_FRAME_TOO_LARGE on an oversized frame, after the frames before it', async (t) => {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(MAX_FRAME_BYTES + 1);
  const server = await serveChunks([Buffer.concat([encodeJsonFrame({ t: 'pong', p: {} }), header]), Buffer.alloc(1024)]);
  t.teardown(() => server.close());
  const transport = await TcpTransport.open(server.url);
  const frames: unknown[] = [];
  transport.on('frame', (f) => frames.push(f));
  const info = await new Promise<TransportCloseInfo>((resolve) => transport.on('close', resolve));
  t.same(frames, [{ t: 'pong', p: {} }]);
  t.equal(info.code, 'GW_FRAME_TOO_LARGE');
  t.notOk(transport.isOpen);
});

t.test('TcpTransport reports the code of a bye frame when the server then closes', async (t) => {
  const bye = encodeJsonFrame({ t: 'bye', p: { code: 'GW_FORCED_OFFLINE', message: 'Signed out by an administrator.' } });
  const server = net.createServer((socket) => socket.end(bye));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const transport = await TcpTransport.open(`tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  const info = await new Promise<TransportCloseInfo>((resolve) => transport.on('close', resolve));
  t.same(info, { code: 'GW_FORCED_OFFLINE', reason: 'Signed out by an administrator.' });
});

t.test('TcpTransport reports an unreachable server as CLIENT_UNREACHABLE', async (t) => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await t.rejects(TcpTransport.open(`tcp://127.0.0.1:${port}`), { code: 'CLIENT_UNREACHABLE' });
});
