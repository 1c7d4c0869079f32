import t from 'tap';
import { MAX_RICH_SEGMENTS, parseRtxMarkup } from '../../gateway/src/edges/rtx-compat/markup.js';
import { parseIpAllowList } from '../../gateway/src/settings/ip-allow.js';

t.test('RTX link markup becomes link segments; only http/https', async (t) => {
  t.same(parseRtxMarkup('无链接'), [{ text: '无链接' }]);
  t.same(parseRtxMarkup('[报销单|https://oa.example.com/x?a=1&b=2 ]'), [{ text: '报销单', href: 'https://oa.example.com/x?a=1&b=2' }]);
  t.same(parseRtxMarkup('a[b|HTTP://h/]c[d|javascript:alert(1)]e[f|ftp://x]g[no pipe]'), [
    { text: 'a' }, { text: 'b', href: 'HTTP://h/' }, { text: 'c[d|javascript:alert(1)]e[f|ftp://x]g[no pipe]' },
  ]);
  t.same(parseRtxMarkup('[|http://h/]'), [{ text: 'http://h/', href: 'http://h/' }], 'empty shown text shows the URL');
  t.same(parseRtxMarkup('x[a|http://not a url]'), [{ text: 'x[a|http://not a url]' }]);
  const many = parseRtxMarkup('[l|http://h/] '.repeat(300));
  t.ok(many.length <= MAX_RICH_SEGMENTS, `at most ${MAX_RICH_SEGMENTS} segments (${many.length})`);
  t.match(many.at(-1)?.text, /\[l\|http:\/\/h\/\]/, 'the rest stays text');
});

t.test('IP allow-lists: addresses, CIDR blocks, IPv4-mapped, *', async (t) => {
  const l = parseIpAllowList('127.0.0.1/8, ::1; 10.1.0.0/16 192.168.1.7');
  for (const a of ['127.0.0.1', '127.9.9.9', '::ffff:127.0.0.1', '::1', '10.1.200.3', '192.168.1.7']) t.ok(l.allows(a), a);
  for (const a of ['10.2.0.1', '192.168.1.8', '::2', '', null, 'garbage']) t.notOk(l.allows(a), String(a));
  t.ok(parseIpAllowList('*').allows('8.8.8.8'));
  t.notOk(parseIpAllowList('').allows('127.0.0.1'), 'empty allows nobody');
  t.throws(() => parseIpAllowList('10.0.0.0/33'), /bad prefix/);
  t.throws(() => parseIpAllowList('localhost'), /not an IP/);
});
