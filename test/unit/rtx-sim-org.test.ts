import { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import t from 'tap';
import { RtxExportReader, RtxXmlError, parseRtxExport, readRtxExport } from '../../rtx-adapter/src/rtx-xml.js';
import { RTX_EXPORT_ROOT, encodeRtxExportXml } from '../../rtx-adapter/sim/export-xml.js';
import { GB18030_ONLY_CHARS, generateOrg, WELL_KNOWN_USERS } from '../../rtx-adapter/sim/generate.js';
import { formatImWatchRecord, localStamp } from '../../rtx-adapter/sim/imwatch.js';
import { RtxSimState, SimError, type SimOrg } from '../../rtx-adapter/sim/model.js';

// True GB2312 (EUC-CN): every character ASCII or a double byte with both bytes in A1–FE.
// (iconv-lite's "gb2312" codec is really CP936/GBK, so it cannot be used for this check.)
const gb2312Encodable = (s: string) =>
  [...s].every((c) => {
    const b = iconv.encode(c, 'gb18030');
    return (b.length === 1 && (b[0] as number) < 0x80) || (b.length === 2 && (b[0] as number) >= 0xa1 && (b[1] as number) >= 0xa1);
  });

t.test('the generator is deterministic and carries GB18030-only characters', async (t) => {
  const a = generateOrg({ users: 300, departments: 40, groups: 10, seed: 5 });
  const b = generateOrg({ users: 300, departments: 40, groups: 10, seed: 5 });
  t.same(a, b, 'same seed, same org');
  t.not(JSON.stringify(generateOrg({ users: 300, departments: 40, groups: 10, seed: 6 })), JSON.stringify(a));
  t.equal(a.users.length, 300);
  t.equal(a.depts.length, 40);
  t.equal(a.groups.length, 10);
  t.same(a.users.slice(0, WELL_KNOWN_USERS.length).map((u) => u.account), WELL_KNOWN_USERS.map((u) => u.account));
  t.ok(a.users.some((u) => /^\d+$/.test(u.account)), 'digit accounts');
  t.ok(a.users.some((u) => /[\u4e00-\u9fff]/.test(u.account)), 'Chinese accounts');
  t.equal(new Set(a.users.map((u) => u.account.toLowerCase())).size, 300, 'accounts unique');
  const rare = a.users.filter((u) => [...u.name].some((c) => GB18030_ONLY_CHARS.includes(c)));
  t.ok(rare.length >= 300 / 7 - 1, `${rare.length} names with GB18030-only characters`);
  t.ok(rare.every((u) => !gb2312Encodable(u.name)));
  t.ok(a.users.some((u) => u.deptIds.length > 1), 'some users sit in several departments');
  const ids = new Set(a.depts.map((d) => d.id));
  t.ok(a.depts.every((d) => d.parentId === 0 || (ids.has(d.parentId) && d.parentId < d.id)), 'a tree');
  const siblings = new Set(a.depts.map((d) => `${d.parentId}/${d.name}`));
  t.equal(siblings.size, a.depts.length, 'sibling names unique');
  t.ok(new Set(a.depts.map((d) => d.name)).size < a.depts.length, 'but names repeat across the tree (paths needed)');
});

t.test('export XML: GB2312 declaration, GB18030 bytes, round-trips exactly through the reader', async (t) => {
  const org = generateOrg({ users: 200, departments: 30, groups: 8, seed: 2 });
  org.users[7] = { ...(org.users[7] as SimOrg['users'][number]), name: 'A&B <"引号"> 㑇\t𠀀', position: '经理 & 主管' };
  const bytes = encodeRtxExportXml(org);
  const head = bytes.subarray(0, 120).toString('latin1');
  t.match(head, /^<\?xml version="1.0" encoding="gb2312"\?>\r\n<RTX2005OrLater_Exported_Data_9D373D5B-AA39-42e7-A819-BF5F7A8961FC>/);
  t.ok(bytes.includes(iconv.encode('㑇', 'gb18030')), 'FE 56 in the file');
  t.ok(bytes.includes(Buffer.from('95328236', 'hex')), '𠀀 as its GB18030 four bytes');
  const back = parseRtxExport(bytes);
  t.equal(back.encoding, 'gb18030');
  t.same(back.unknownTables, []);
  t.same(back.warnings, []);
  t.same(
    back.users.map((u) => [u.id, u.account, u.name, u.gender, u.mobile, u.email, u.phone, u.accountState, u.position]),
    org.users.map((u) => [u.id, u.account, u.name, u.gender, u.mobile, u.email, u.phone, u.accountState, u.position]),
  );
  t.same(back.departments, org.depts.map((d) => ({ id: d.id, parentId: d.parentId, name: d.name, sortId: d.sortId })));
  t.same(back.memberships, org.users.flatMap((u) => u.deptIds.map((d) => ({ deptId: d, userId: u.id }))));
  const uin = new Map(org.users.map((u) => [u.account, u.id]));
  t.same(back.groups, org.groups.map((g) => ({ id: g.id, name: g.name, effective: true, memberIds: g.members.map((m) => uin.get(m)) })));
});

t.test('5,000 users / 400 departments / 100 groups with GB18030-only names: exported and read back exactly, streamed in small chunks', async (t) => {
  const org = generateOrg({ users: 5000, departments: 400, groups: 100, seed: 42 });
  const bytes = encodeRtxExportXml(org);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 4093) chunks.push(bytes.subarray(i, i + 4093)); // splits multi-byte characters
  const back = await readRtxExport(Readable.from(chunks));
  t.equal(back.users.length, 5000);
  t.equal(back.departments.length, 400);
  t.equal(back.groups.length, 100);
  const mismatched = back.users.filter((u, i) => u.name !== org.users[i]?.name || u.account !== org.users[i]?.account);
  t.same(mismatched, [], 'every name and account identical');
  const rare = back.users.filter((u) => !gb2312Encodable(u.name));
  t.ok(rare.length > 700, `${rare.length} names outside GB2312 survived`);
  t.ok(back.departments.some((d) => !gb2312Encodable(d.name)), 'department names too');
  t.ok(back.groups.some((g) => !gb2312Encodable(g.name)), 'group names too');
});

t.test('the reader reports unknown tables and rejects what is not an RTX export', async (t) => {
  const org = generateOrg({ users: 6, departments: 2, groups: 1 });
  const withExtra = encodeRtxExportXml(org, { extraTables: [{ name: 'RTX_Role', rows: [[['RoleID', '1'], ['RoleName', '管理员']]] }] });
  const back = parseRtxExport(withExtra);
  t.same(back.unknownTables, [{ name: 'RTX_Role', rows: 1, attributes: ['roleid', 'rolename'] }]);
  t.equal(back.users.length, 6);
  const xml = (s: string) => iconv.encode(`<?xml version="1.0" encoding="gb2312"?>${s}`, 'gb18030');
  t.throws(() => parseRtxExport(xml('<enterprise><departments/></enterprise>')), RtxXmlError, 'an import file is not an export');
  t.throws(() => parseRtxExport(xml(`<${RTX_EXPORT_ROOT}><Database><Sys_User><Item ID="1" UserName="a"/>`)), /truncated/);
  t.throws(() => parseRtxExport(xml(`<${RTX_EXPORT_ROOT}><Database><Sys_User></RTX_Dept></Database></${RTX_EXPORT_ROOT}>`)), /does not close/);
  t.throws(() => parseRtxExport(Buffer.from('garbage')), RtxXmlError);
  const partial = parseRtxExport(xml(`<${RTX_EXPORT_ROOT}><Database><Sys_User><Item UserName="noid"/><Item ID="3" UserName="ok" Name="&#x4E2D;&amp;"/></Sys_User></Database></${RTX_EXPORT_ROOT}>`));
  t.equal(partial.users.length, 1);
  t.equal(partial.users[0]?.name, '中&');
  t.match(partial.warnings[0], /missing ID or UserName/);
  const utf8 = Buffer.from(`<?xml version="1.0" encoding="utf-8"?><${RTX_EXPORT_ROOT}><Database><Sys_User><Item ID="1" UserName="u" Name="㑇"/></Sys_User></Database></${RTX_EXPORT_ROOT}>`);
  t.equal(parseRtxExport(utf8).users[0]?.name, '㑇', 'a UTF-8 declaration is honoured');
  const r = new RtxExportReader();
  t.throws(() => {
    r.push(xml(`<${RTX_EXPORT_ROOT}><Database><Sys_User><Item ID="1" Name="${'x'.repeat(1100 * 1024)}`));
  }, /too long/);
});

t.test('IMWatch records: 1:1 receivers plain, group receivers each ending with ;', async (t) => {
  const single = formatImWatchRecord({ seq: 9, im_message_id: 'x', kind: 'single', sender: 'zhangsan', receivers: ['lisi'], session_key: 'k', group: null, text: '你好\n第二行', time_ms: Date.UTC(2024, 4, 6, 16, 3, 22) }, 480);
  t.equal(single, 'ThreadID=9\r\nTime=2024-05-07 00:03:22\r\nSender=zhangsan\r\nReceivers=lisi\r\nMsg=你好\r\n第二行\r\n\r\n');
  const group = formatImWatchRecord({ seq: 10, im_message_id: 'y', kind: 'group', sender: 'zhangsan', receivers: ['lisi', 'wangwu'], session_key: 'k', group: { id: 'g', name: 'n' }, text: '㑇', time_ms: 0 }, 480);
  t.match(group, /\r\nReceivers=lisi;wangwu;\r\n/);
  t.same(localStamp(Date.UTC(2024, 11, 31, 16, 0, 0), 480), { day: '2025-01-01', time: '2025-01-01 00:00:00' });
});

t.test('state: mutations keep the org consistent; RTX users send 1:1 and into groups', async (t) => {
  const s = new RtxSimState(generateOrg({ users: 20, departments: 5, groups: 2, seed: 1 }));
  const g = s.addGroup({ name: '测试群', members: ['zhangsan', 'lisi', 'wangwu'] });
  const m = s.rtxUserSends({ sender: 'zhangsan', groupId: g.id, text: '大家好' });
  t.equal(m.kind, 'group');
  t.same(m.receivers, ['lisi', 'wangwu']);
  t.equal(m.session_key, g.sessionKey);
  t.equal(s.inbox('LISI').ims[0]?.text, '大家好', 'accounts are case-insensitive');
  const one = s.rtxUserSends({ sender: 'lisi', to: 'zhangsan', text: '私聊' });
  const two = s.rtxUserSends({ sender: 'zhangsan', to: 'lisi', text: '回复' });
  t.equal(one.session_key, two.session_key, '1:1 session key stable per pair');
  t.not(one.im_message_id, two.im_message_id);
  const dup = s.rtxUserSends({ sender: 'lisi', to: 'zhangsan', text: '重复', copies: 2 });
  t.same(s.capturedAfter(dup.seq - 1, 10).map((c) => c.im_message_id), [dup.im_message_id, dup.im_message_id]);
  t.throws(() => s.rtxUserSends({ sender: 'nobody', to: 'lisi', text: 'x' }), SimError);
  s.removeUser('wangwu');
  t.same(s.groups.get(g.id)?.members, ['zhangsan', 'lisi'], 'removed users leave groups');
  const d = s.addDept({ name: '新部门', parentId: 1 });
  s.updateUser('lisi', { name: '李四四', deptIds: [d.id] });
  t.equal(s.deptPath(d.id), `${s.depts.get(1)?.name}\\新部门`);
  t.throws(() => s.removeDept(d.id), /has users/);
  t.throws(() => s.updateDept(1, { parentId: d.id }), /under itself/);
});
