import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';

/**
 * The shipped JScript helper (rtx-adapter/helper/rtx-helper.js) cannot run here (it needs
 * Windows Script Host and the RTX COM objects). These checks keep it ES3 and exercise its
 * JSON-line loop against fake WScript / COM objects; its COM use is untested against a live RTX.
 */

const file = path.resolve(import.meta.dirname, '../../rtx-adapter/helper/rtx-helper.js');
const source = readFileSync(file, 'utf8');

/** The source without comments, strings and regex literals (for syntax greps). */
function codeOnly(src: string): string {
  return src
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:\\])\/\/.*$/gm, '$1')
    .replace(/'(\\.|[^'\\\n])*'/g, "''")
    .replace(/"(\\.|[^"\\\n])*"/g, '""')
    .replace(/\/(\\.|\[(\\.|[^\]\\])*\]|[^/\\\n])+\/[gimy]*/g, '/r/');
}

t.test('the JScript helper is ES3: parses, and uses no ES5+ syntax or library', async (t) => {
  t.doesNotThrow(() => new Function('WScript', 'ActiveXObject', source), 'parses as a function body');
  t.ok([...source].every((c) => c.charCodeAt(0) < 0x80), 'the file is ASCII (no code page can mangle it)');
  const code = codeOnly(source);
  const banned: Array<[RegExp, string]> = [
    [/\blet\s/, 'let'], [/\bconst\s/, 'const'], [/=>/, 'arrow functions'], [/`/, 'template strings'], [/\bclass\s/, 'class'],
    [/\bJSON\./, 'the JSON object'], [/\.forEach\(|\.map\(|\.filter\(|\.reduce\(|\.some\(|\.every\(/, 'ES5 array methods'], [/\.indexOf\(/, 'Array/String indexOf (use loops)'],
    [/\.trim\(/, 'String.prototype.trim'], [/Object\.keys|Object\.create|Array\.isArray|Date\.now/, 'ES5 statics'], [/\.\.\./, 'spread'], [/\bof\s+\w+\)/, 'for…of'],
    [/,\s*[}\]]/, 'trailing commas (a syntax error in JScript 5)'], [/\bget\s+\w+\s*\(|\bset\s+\w+\s*\(/, 'accessors'],
  ];
  for (const [re, what] of banned) t.notOk(re.test(code), `no ${what}`);
});

/** Runs the helper with fake WSH objects; returns the lines it wrote and how it quit. */
function runHelper(input: string[], named: Record<string, string> = {}) {
  const lines = [...input];
  const written: Array<Record<string, unknown>> = [];
  const calls: string[] = [];
  class Quit extends Error {
    constructor(readonly code: number) {
      super('quit');
    }
  }
  const WScript = {
    StdOut: { WriteLine: (s: string) => void written.push(JSON.parse(s) as Record<string, unknown>) },
    StdIn: {
      get AtEndOfStream() {
        return lines.length === 0;
      },
      ReadLine: () => lines.shift() as string,
    },
    Arguments: { Named: { Exists: (k: string) => k in named, Item: (k: string) => named[k] } },
    Sleep: () => undefined,
    ConnectObject: () => undefined,
    Quit: (code: number) => {
      throw new Quit(code);
    },
  };
  function ActiveXObject(progId: string) {
    if (progId !== 'RTXSAPIRootObj.RTXSAPIRootObj') throw new Error(`no ${progId}`);
    return {
      Login: () => 0,
      DeptManager: {},
      UserManager: {},
      DisGroupManager: {},
      SendIM: (...a: unknown[]) => void calls.push(`SendIM ${JSON.stringify(a)}`),
      SendNotify: (...a: unknown[]) => void calls.push(`SendNotify ${JSON.stringify(a)}`),
      QueryUserState: (a: string) => {
        if (a === 'ghost') throw Object.assign(new Error('no such user'), { number: -984 });
        return a === 'lisi' ? 2 : 1;
      },
      QueryUsersByState: () => 'zhangsan;lisi;',
    };
  }
  let exit: number | null = null;
  try {
    new Function('WScript', 'ActiveXObject', source)(WScript, ActiveXObject);
  } catch (e) {
    if (!(e instanceof Quit)) throw e;
    exit = e.code;
  }
  return { written, calls, exit };
}

t.test('the helper loop speaks the JSON-line contract (fake WSH and COM)', async (t) => {
  const req = (id: number, method: string, params: object = {}) => JSON.stringify({ type: 'request', id, method, params }).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const { written, calls, exit } = runHelper([
    req(1, 'ping'),
    'this is not json',
    '{"type":"request","id":2,"method":"ping","params":{},"x":alert(1)}',
    req(3, 'send.im', { sender: 'zhangsan', receivers: ['lisi', '钱七'], msg: '你好𠀀', session_key: '{K}' }),
    req(4, 'presence.query', { accounts: ['zhangsan', 'lisi', 'ghost'] }),
    req(5, 'presence.online'),
    req(6, 'capture.wait'),
    req(7, 'no.such.method'),
    req(8, 'send.im', { sender: 'a', receivers: 'lisi', msg: 'x' }),
    req(9, 'shutdown'),
    req(10, 'ping'),
  ]);
  t.equal(exit, 0);
  t.match(written[0], { type: 'ready', protocol: 1, capabilities: ['org', 'presence', 'send', 'capture'] });
  t.match(written[1], { type: 'response', id: 1, ok: true, result: { time_ms: Number } });
  t.match(written[2], { type: 'response', id: null, ok: false, error: { code: 'BAD_REQUEST' } });
  t.match(written[3], { type: 'response', id: null, ok: false, error: { code: 'BAD_REQUEST' } }, 'a line with code in it is refused, not evaluated');
  t.match(written[4], { id: 3, ok: true });
  t.same(calls, ['SendIM ["zhangsan","","lisi;钱七","你好𠀀","{K}"]'], 'non-ASCII arrives intact through the \\u escapes');
  t.same(written[5], { type: 'response', id: 4, ok: true, result: { states: { zhangsan: 1, lisi: 2, ghost: null } } });
  t.same(written[6], { type: 'response', id: 5, ok: true, result: { accounts: ['zhangsan', 'lisi'] } });
  t.match(written[7], { id: 6, ok: false, error: { code: 'NOT_CAPTURING' } });
  t.match(written[8], { id: 7, ok: false, error: { code: 'UNKNOWN_METHOD' } });
  t.match(written[9], { id: 8, ok: false, error: { code: 'BAD_REQUEST' } });
  t.match(written[10], { id: 9, ok: true });
  t.equal(written.length, 11, 'nothing is served after shutdown');
});

t.test('the helper logs in when given a user and ends at stdin EOF', async (t) => {
  const r = runHelper([], { user: 'admin', pwd: 'x' });
  t.equal(r.exit, 0, 'login 0 = ok, then stdin EOF ends it');
});
