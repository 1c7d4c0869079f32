/* eslint-disable */
// Huitong RTX COM helper - JScript (ES3) for Windows Script Host.
//
//   cscript //nologo //U rtx-helper.js [/server:127.0.0.1] [/port:8006] [/user:admin] [/pwd:...]
//                                     [/groupsdb:"C:\Program Files\Tencent\RTXServer\db\DisGroup_Db.mdb"]
//
// Speaks docs/protocol/rtx-helper.md (JSON lines, pure ASCII) on stdin/stdout: the RTX adapter
// starts it and drives it. It uses the RTX server's COM API (docs/rtx-sdk.md section 4):
// RTXSAPIRootObj, its DeptManager / UserManager / DisGroupManager, and a filter app for
// Tencent.RTX.IM whose OnRecvMessage events are queued and emitted while capture.wait runs.
//
// UNTESTED AGAINST A LIVE RTX SERVER: written from the reconstructed API description only.
// ProgIDs, property names and the RTXSData layout are the documented ones; where RTX builds
// differ, adjust the marked places (search for "ADJUST").
//
// Keep this file ES3: no let/const, arrow functions, template strings, JSON object,
// Array.prototype.forEach/map/indexOf, String.prototype.trim. A test parses it and greps for those.

var HELPER_VERSION = '1.0.0';
var PROTOCOL = 1;
var MAX_ORG_PAGE = 2000;
var SNAPSHOT_TTL_MS = 600000;

var out = WScript.StdOut;
var inp = WScript.StdIn;

// ---------------------------------------------------------------- JSON (ASCII only)
function q(s) {
  return '"' + String(s).replace(/[\\"\u0000-\u001f\u007f-\uffff]/g, function (c) {
    var h = c.charCodeAt(0).toString(16);
    return '\\u' + '0000'.substr(h.length) + h;
  }) + '"';
}
function isArray(v) { return Object.prototype.toString.call(v) === '[object Array]'; }
function enc(v) {
  var i, parts, k;
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return q(v);
  if (typeof v === 'number') return isFinite(v) ? String(v) : 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (isArray(v)) {
    parts = [];
    for (i = 0; i < v.length; i++) parts.push(enc(v[i]));
    return '[' + parts.join(',') + ']';
  }
  parts = [];
  for (k in v) if (Object.prototype.hasOwnProperty.call(v, k)) parts.push(q(k) + ':' + enc(v[k]));
  return '{' + parts.join(',') + '}';
}
// The adapter sends plain JSON only; refuse anything that is not (no code runs through eval).
function dec(line) {
  var stripped = line.replace(/"(\\.|[^"\\])*"/g, '""');
  if (/[^\[\]{}:,\s"0-9eE+\-.a-z]/.test(stripped) || /[a-z]+/.test(stripped.replace(/true|false|null|e/g, ''))) throw new Error('not JSON');
  return eval('(' + line + ')');
}
function send(o) { out.WriteLine(enc(o)); }
function fail(code, message, comCode) {
  var e = new Error(message);
  e.helperCode = code;
  if (comCode !== undefined) e.comCode = comCode;
  return e;
}
function trim(s) { return String(s).replace(/^\s+|\s+$/g, ''); }
function now() { return new Date().getTime(); }

// ---------------------------------------------------------------- arguments
var args = WScript.Arguments.Named;
function arg(name, def) { return args.Exists(name) ? String(args.Item(name)) : def; }
var SERVER = arg('server', '127.0.0.1');
var PORT = parseInt(arg('port', '8006'), 10);
var USER = arg('user', '');
var PWD = arg('pwd', '');
var GROUPS_DB = arg('groupsdb', '');

// ---------------------------------------------------------------- COM
var root = null;
try {
  root = new ActiveXObject('RTXSAPIRootObj.RTXSAPIRootObj'); // ADJUST: ProgID of the RTX SDK root object
  root.ServerIP = SERVER;
  root.ServerPort = PORT;
} catch (e) {
  send({ type: 'fatal', error: { code: 'RTX_UNAVAILABLE', message: 'cannot create RTXSAPIRootObj (is the RTX SDK registered on this host?): ' + e.message } });
  WScript.Quit(3);
}
if (USER !== '') {
  var rc;
  try { rc = root.Login(USER, PWD); } catch (e2) { rc = e2.number; }
  if (rc !== 0) {
    send({ type: 'fatal', error: { code: 'RTX_LOGIN_FAILED', message: 'RTXSAPIRootObj.Login refused (' + rc + ')' } });
    WScript.Quit(4);
  }
}
var deptMgr = root.DeptManager;
var userMgr = root.UserManager;
var groupMgr = root.DisGroupManager;

function xmlDoc(text) {
  var d = new ActiveXObject('MSXML2.DOMDocument');
  d.async = false;
  if (!d.loadXML(String(text || ''))) throw fail('RTX_COM_ERROR', 'unreadable XML from RTX: ' + d.parseError.reason);
  return d;
}
function attrList(xml, tag, attr) {
  var nodes = xmlDoc(xml).getElementsByTagName(tag), res = [], i, v;
  for (i = 0; i < nodes.length; i++) {
    v = nodes.item(i).getAttribute(attr);
    if (v !== null && v !== '') res.push(String(v));
  }
  return res;
}
function comCall(fn) {
  try { return fn(); } catch (e) {
    if (e.helperCode) throw e;
    if ((e.number & 0xffff) === 984 || e.number === -984) throw fail('NO_SUCH_USER', 'no such user', -984);
    throw fail('RTX_COM_ERROR', 'COM call failed: ' + e.message, e.number);
  }
}

// ---------------------------------------------------------------- org
var snapshots = {};
var snapSeq = 0;

function readUser(account, paths) {
  var u = { account: account, name: account, uin: null, gender: null, mobile: '', email: '', phone: '', position: null, account_state: null, dept_paths: paths || [], dept_ids: null };
  // ADJUST: GetUserBasicInfo returns name/gender/mobile/email/phone through [out] parameters,
  // which JScript cannot receive. Builds that also expose them as properties of a returned
  // object are read here; otherwise only the account is known (use the export XML for details).
  try {
    var info = userMgr.GetUserBasicInfo(account);
    if (info && typeof info === 'object') {
      if (info.Name) u.name = String(info.Name);
      if (info.Gender === 0 || info.Gender === 1) u.gender = info.Gender;
      if (info.Mobile) u.mobile = String(info.Mobile);
      if (info.Email) u.email = String(info.Email);
      if (info.Phone) u.phone = String(info.Phone);
    }
  } catch (e) { /* see ADJUST above */ }
  return u;
}

function takeSnapshot(withGroups) {
  var depts = [], users = [], byAccount = {}, queue = [{ path: '', parent: null }], cur, names, i, p, accounts, j, a;
  while (queue.length > 0) {
    cur = queue.shift();
    names = attrList(comCall(function () { return deptMgr.GetChildDepts(cur.path); }), 'Department', 'Name');
    for (i = 0; i < names.length; i++) {
      p = cur.path === '' ? names[i] : cur.path + '\\' + names[i];
      depts.push({ id: null, parent_id: null, name: names[i], path: p, parent_path: cur.path === '' ? null : cur.path, sort_id: i });
      queue.push({ path: p, parent: cur.path });
    }
  }
  for (i = 0; i < depts.length; i++) {
    accounts = attrList(comCall(function () { return deptMgr.GetDeptUsers(depts[i].path); }), 'User', 'Name');
    for (j = 0; j < accounts.length; j++) {
      a = accounts[j];
      if (byAccount[a]) byAccount[a].dept_paths.push(depts[i].path);
      else { byAccount[a] = readUser(a, [depts[i].path]); users.push(byAccount[a]); }
    }
  }
  return { departments: depts, users: users, groups: withGroups ? readGroups() : null };
}

// DisGroupManager has no "list all": groups come from DisGroup_Db.mdb (GroupBasicInfo) through ADO/Jet.
function readGroups() {
  var conn = new ActiveXObject('ADODB.Connection'), rs, groups = [], g, members, k;
  conn.Open('Provider=Microsoft.Jet.OLEDB.4.0;Data Source=' + GROUPS_DB + ';Mode=Read');
  try {
    rs = conn.Execute('SELECT groupid, groupname FROM GroupBasicInfo WHERE IsEffective = 1');
    while (!rs.EOF) {
      g = { id: String(rs.Fields('groupid').Value), name: String(rs.Fields('groupname').Value || ''), session_key: null, members: [] };
      members = attrList(comCall(function () { return groupMgr.GetDisGroupUsers(g.id); }), 'User', 'Name');
      for (k = 0; k < members.length; k++) g.members.push(members[k]);
      groups.push(g);
      rs.MoveNext();
    }
    rs.Close();
  } finally { conn.Close(); }
  return groups;
}

function snapshotById(id) {
  var k, t = now();
  for (k in snapshots) if (snapshots.hasOwnProperty(k) && t - snapshots[k].used > SNAPSHOT_TTL_MS) delete snapshots[k];
  if (!snapshots.hasOwnProperty(id)) throw fail('SNAPSHOT_EXPIRED', 'unknown or expired snapshot: ' + id);
  snapshots[id].used = t;
  return snapshots[id];
}
function page(id, all, p) {
  var offset = Math.max(0, parseInt(p.offset || 0, 10) || 0);
  var limit = Math.min(MAX_ORG_PAGE, Math.max(1, parseInt(p.limit || 500, 10) || 500));
  return { snapshot_id: id, offset: offset, total: all.length, items: all.slice(offset, offset + limit), next_offset: offset + limit < all.length ? offset + limit : null };
}

// ---------------------------------------------------------------- capture (filter app)
var app = null;
var capturing = false;
var queue = [];

// ADJUST: the filter-app object and its property names (docs/rtx-sdk.md section 4).
function app_OnRecvMessage(msg) {
  try { queue.push(messageOf(msg)); } catch (e) { queue.push(null); }
}
function xmlValue(doc, name) {
  var n = doc.selectSingleNode("//*[local-name()='" + name + "']"), a;
  if (n) return String(n.text);
  a = doc.selectSingleNode("//@*[local-name()='" + name + "']");
  return a ? String(a.text) : '';
}
function messageOf(msg) {
  var doc = xmlDoc(msg.Content), mode = xmlValue(doc, 'Mode'), gid = xmlValue(doc, 'DisGroupId');
  var isGroup = mode === '4' || gid !== '';
  var recv = String(msg.Receivers || '').split(/[;,]/), receivers = [], i, sender = trim(msg.Sender);
  for (i = 0; i < recv.length; i++) if (trim(recv[i]) !== '' && trim(recv[i]) !== sender) receivers.push(trim(recv[i]));
  return {
    im_message_id: xmlValue(doc, 'im_message_id'),
    kind: isGroup ? 'group' : 'single',
    sender: sender,
    receivers: receivers,
    session_key: xmlValue(doc, 'Key'),
    group: isGroup ? { id: gid, name: xmlValue(doc, 'Title') } : null,
    text: xmlValue(doc, 'Txt'),
    time_ms: now()
  };
}
function captureStart(p) {
  if (!app) {
    app = root.CreateAPIObj(); // ADJUST: how a filter app object is obtained on this RTX build
    WScript.ConnectObject(app, 'app_');
  }
  app.AppGUID = p.app_guid;
  app.AppName = p.app_name;
  app.AppAction = p.action === 'distill' ? 2 : 1; // AA_DISTILL / AA_COPY
  app.FilterRequestType = 'Tencent.RTX.IM';
  app.FilterSender = 'anyone';
  app.FilterReceiver = 'anyone';
  app.FilterReceiverState = 'anystate';
  comCall(function () { return app.RegisterApp(); });
  comCall(function () { return app.StartApp('', 4); });
  capturing = true;
  return { capturing: true };
}
function captureStop() {
  if (app && capturing) {
    try { app.StopApp(); app.UnRegisterApp(); } catch (e) { /* already gone */ }
  }
  capturing = false;
  return { capturing: false };
}
function captureWait(p) {
  if (!capturing) throw fail('NOT_CAPTURING', 'call capture.start first');
  var until = now() + Math.min(30000, p.timeout_ms || 1000), max = p.max_events || 200, n = 0, m;
  while (n === 0 && now() < until) {
    WScript.Sleep(50); // pumps COM events: OnRecvMessage runs here
    while (queue.length > 0 && n < max) {
      m = queue.shift();
      if (m && m.im_message_id !== '') { send({ type: 'event', event: 'message', data: m }); n++; }
    }
  }
  return { events: n, capturing: capturing };
}

// ---------------------------------------------------------------- dispatch
function strList(v, name) {
  var i;
  if (!isArray(v)) throw fail('BAD_REQUEST', name + ' must be a list of accounts');
  for (i = 0; i < v.length; i++) if (typeof v[i] !== 'string') throw fail('BAD_REQUEST', name + ' must be a list of accounts');
  return v;
}
function handle(method, p) {
  var s, id, res, i, st, acc, list;
  switch (method) {
    case 'ping': return { time_ms: now() };
    case 'org.summary':
      s = takeSnapshot(false);
      return { departments: s.departments.length, users: s.users.length, groups: null, user_version: null, dept_version: null };
    case 'org.snapshot':
      s = takeSnapshot(p.groups !== false && GROUPS_DB !== '');
      id = '{HELPER-' + now() + '-' + (++snapSeq) + '}';
      s.used = now();
      snapshots[id] = s;
      return { snapshot_id: id, departments: s.departments.length, users: s.users.length, groups: s.groups ? s.groups.length : null, taken_ms: now() };
    case 'org.departments': return page(p.snapshot_id, snapshotById(p.snapshot_id).departments, p);
    case 'org.users': return page(p.snapshot_id, snapshotById(p.snapshot_id).users, p);
    case 'org.groups':
      s = snapshotById(p.snapshot_id);
      if (!s.groups) throw fail('UNSUPPORTED', 'snapshot taken without groups');
      return page(p.snapshot_id, s.groups, p);
    case 'org.release': delete snapshots[p.snapshot_id]; return {};
    case 'org.user':
      if (typeof p.account !== 'string' || p.account === '') throw fail('BAD_REQUEST', 'account is required');
      if (!comCall(function () { return userMgr.IsUserExist(p.account); })) throw fail('NO_SUCH_USER', 'no such user: ' + p.account, -984);
      return readUser(p.account, []);
    case 'presence.query':
      list = strList(p.accounts, 'accounts');
      res = {};
      for (i = 0; i < list.length; i++) {
        acc = list[i];
        try { st = root.QueryUserState(acc); } catch (e) { st = e.number; }
        res[acc] = st === 0 || st === 1 || st === 2 ? st : null;
      }
      return { states: res };
    case 'presence.online':
      // ADJUST: QueryUsersByState's result shape; a list separated by ; or , is assumed
      res = String(comCall(function () { return root.QueryUsersByState('online'); }) || '').split(/[;,]/);
      list = [];
      for (i = 0; i < res.length; i++) if (trim(res[i]) !== '') list.push(trim(res[i]));
      return { accounts: list };
    case 'send.notify':
      if (typeof p.msg !== 'string') throw fail('BAD_REQUEST', 'msg is required');
      comCall(function () { return root.SendNotify(p.receivers === 'all' ? 'all' : strList(p.receivers, 'receivers').join(','), p.title || '\u901a\u77e5', p.delay_ms || 0, p.msg); });
      return {};
    case 'send.im':
      if (typeof p.msg !== 'string' || typeof p.sender !== 'string') throw fail('BAD_REQUEST', 'sender and msg are required');
      comCall(function () { return root.SendIM(p.sender, p.pwd || '', strList(p.receivers, 'receivers').join(';'), p.msg, p.session_key || ''); });
      return {};
    case 'capture.start':
      if (typeof p.app_guid !== 'string' || typeof p.app_name !== 'string') throw fail('BAD_REQUEST', 'app_guid and app_name are required');
      return captureStart(p);
    case 'capture.stop': return captureStop();
    case 'capture.wait': return captureWait(p);
    case 'shutdown': return {};
    default: throw fail('UNKNOWN_METHOD', 'unknown method: ' + method);
  }
}

send({ type: 'ready', protocol: PROTOCOL, helper: 'rtx-helper.js', helper_version: HELPER_VERSION,
  capabilities: GROUPS_DB !== '' ? ['org', 'org.groups', 'presence', 'send', 'capture'] : ['org', 'presence', 'send', 'capture'],
  rtx: { host: SERVER, version: null } });

var line, req, result, running = true;
while (running && !inp.AtEndOfStream) {
  line = inp.ReadLine();
  if (trim(line) === '') continue;
  try { req = dec(line); } catch (e) {
    send({ type: 'response', id: null, ok: false, error: { code: 'BAD_REQUEST', message: 'not a JSON line' } });
    continue;
  }
  if (!req || req.type !== 'request' || typeof req.id !== 'number' || typeof req.method !== 'string') {
    send({ type: 'response', id: req && typeof req.id === 'number' ? req.id : null, ok: false, error: { code: 'BAD_REQUEST', message: 'expected a request line' } });
    continue;
  }
  try {
    result = handle(req.method, req.params || {});
    send({ type: 'response', id: req.id, ok: true, result: result });
    if (req.method === 'shutdown') running = false;
  } catch (e) {
    var err = { code: e.helperCode || 'INTERNAL', message: e.helperCode ? e.message : 'helper failure: ' + e.message };
    if (e.comCode !== undefined) err.com_code = e.comCode;
    send({ type: 'response', id: req.id, ok: false, error: err });
  }
}
captureStop();
WScript.Quit(0);
