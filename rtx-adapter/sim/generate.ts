import { pairSessionKey, stableGuid, type Presence, type SimDept, type SimGroup, type SimOrg, type SimUser } from './model.js';

/**
 * Deterministic, seeded generator of RTX orgs with Chinese names, including characters outside
 * GB2312 but inside GB18030 (GBK double bytes such as 㑇 䶮 and four-byte ones such as 𠀀 𠮷).
 * The same options always give the same org.
 */

export interface GenerateOrgOptions {
  users: number;
  departments: number;
  groups: number;
  seed?: number;
  /** Every Nth user / department / group name carries a GB18030-only character (default 7). */
  rareEvery?: number;
  /** Max members per group (default 30; RTX admin manual says 80). */
  maxGroupMembers?: number;
}

/**
 * Characters outside GB2312 but encodable in GB18030: GBK double bytes outside the GB2312 area
 * (㑇 FE56, 䶮 FE9F, 喆 86B4, 堃 88D2, 玥 AB68, 赟 DA53, 燚 A044) and GB18030 four-byte sequences
 * (𠀀 95328236, 𠮷, 㐀, 䲜, 𪚥).
 */
export const GB18030_ONLY_CHARS = ['㑇', '䶮', '𠀀', '喆', '𠮷', '堃', '㐀', '玥', '䲜', '赟', '𪚥', '燚'];

const SURNAMES = [...'王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤'];
const DOUBLE_SURNAMES = ['欧阳', '司马', '上官', '诸葛', '东方'];
const GIVEN = [...'伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌辉鹏飞宇浩然子轩梓涵一诺欣怡雨桐晨曦思远嘉怡佳琪俊杰'];
const DEPT_BASE = ['研发部', '市场部', '销售部', '财务部', '人力资源部', '行政部', '法务部', '采购部', '客服中心', '质量部', '测试组', '运维组', '产品部', '设计部', '战略发展部', '审计部', '信息中心', '物流部', '生产部', '安全部'];
const CN_NUM = ['一', '二', '三', '四', '五', '六', '七', '八', '九', '十'];
const POSITIONS = ['工程师', '高级工程师', '经理', '总监', '主管', '专员', '助理', '架构师', '实习生', ''];
const GROUP_BASE = ['项目组', '讨论组', '周会', '攻关小组', '兴趣小组', '值班群'];

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Well-known users at the start of every generated org (when it has at least 6 users). */
export const WELL_KNOWN_USERS: Array<Pick<SimUser, 'account' | 'name' | 'gender' | 'mobile' | 'email'>> = [
  { account: 'zhangsan', name: '张三', gender: 0, mobile: '13800000001', email: 'zhangsan@example.cn' },
  { account: 'lisi', name: '李四', gender: 1, mobile: '13800000002', email: 'lisi@example.cn' },
  { account: 'wangwu', name: '王五', gender: 0, mobile: '13800000003', email: 'wangwu@example.cn' },
  { account: '10086', name: '赵六', gender: 1, mobile: '13800000004', email: '' },
  { account: '钱七', name: '钱七', gender: 0, mobile: '13800000005', email: '' },
  { account: 'rare', name: '㑇𠀀䶮', gender: 1, mobile: '13800000006', email: 'rare@example.cn' },
];

export function generateOrg(opts: GenerateOrgOptions): SimOrg {
  const rnd = mulberry32(opts.seed ?? 20_240_501);
  const pick = <T>(arr: readonly T[]): T => arr[Math.floor(rnd() * arr.length)] as T;
  const rareEvery = Math.max(1, opts.rareEvery ?? 7);
  const rare = (i: number) => GB18030_ONLY_CHARS[i % GB18030_ONLY_CHARS.length] as string;

  const depts: SimDept[] = [];
  const siblingNames = new Map<number, Set<string>>();
  for (let i = 0; i < opts.departments; i++) {
    const id = i + 1;
    // A broad tree: the first few are top-level, later ones hang under a random earlier one.
    const parentId = i < Math.min(3, opts.departments) ? 0 : (depts[Math.floor(rnd() * Math.min(depts.length, Math.max(3, i / 2)))] as SimDept).id;
    const used = siblingNames.get(parentId) ?? new Set<string>();
    siblingNames.set(parentId, used);
    let name = i === 0 ? '总公司' : pick(DEPT_BASE);
    if (i > 0 && i % (rareEvery * 3) === 0) name = `${rare(i)}${name}`;
    for (let n = 0; used.has(name); n++) name = `${name.replace(/[一二三四五六七八九十]+$/, '')}${CN_NUM[n % 10]}${n >= 10 ? CN_NUM[Math.floor(n / 10) % 10] : ''}`;
    used.add(name);
    depts.push({ id, parentId, name, sortId: i % 17 });
  }

  const users: SimUser[] = [];
  const accounts = new Set<string>();
  for (let i = 0; i < opts.users; i++) {
    const id = 10_000 + i + 1;
    const known = opts.users >= WELL_KNOWN_USERS.length ? WELL_KNOWN_USERS[i] : undefined;
    const surname = rnd() < 0.03 ? pick(DOUBLE_SURNAMES) : pick(SURNAMES);
    let given = pick(GIVEN) + (rnd() < 0.6 ? pick(GIVEN) : '');
    if (i % rareEvery === rareEvery - 1) given = `${given.slice(0, 1)}${rare(i)}`;
    const name = known?.name ?? `${surname}${given}`;
    let account = known?.account ?? (i % 25 === 24 ? `${name}${i}` : i % 10 === 9 ? String(80_000_000 + i) : `u${String(i).padStart(6, '0')}`);
    while (accounts.has(account.toLowerCase())) account = `${account}x`;
    accounts.add(account.toLowerCase());
    const deptIds: number[] = [];
    if (depts.length > 0) {
      deptIds.push((depts[Math.floor(rnd() * depts.length)] as SimDept).id);
      if (rnd() < 0.1) {
        const second = (depts[Math.floor(rnd() * depts.length)] as SimDept).id;
        if (second !== deptIds[0]) deptIds.push(second);
      }
    }
    users.push({
      id,
      account,
      name,
      gender: known?.gender ?? (rnd() < 0.5 ? 0 : 1),
      mobile: known?.mobile ?? `139${String(Math.floor(rnd() * 1e8)).padStart(8, '0')}`,
      email: known?.email ?? (/^[\x20-\x7e]+$/.test(account) ? `${account}@example.cn` : ''),
      phone: rnd() < 0.5 ? `010-${String(60_000_000 + i).slice(0, 8)}` : '',
      position: pick(POSITIONS),
      accountState: i % 97 === 96 ? 1 : 0,
      password: '',
      deptIds,
    });
  }

  const groups: SimGroup[] = [];
  const maxMembers = Math.max(2, opts.maxGroupMembers ?? 30);
  for (let i = 0; i < opts.groups && users.length >= 2; i++) {
    const size = Math.min(users.length, 2 + Math.floor(rnd() * (maxMembers - 1)));
    const members = new Set<string>();
    if (i === 0) for (const k of users.slice(0, Math.min(size, 3))) members.add(k.account);
    while (members.size < size) members.add(pick(users).account);
    let name = `${pick(GROUP_BASE)}${i + 1}`;
    if (i % rareEvery === rareEvery - 1) name = `${rare(i)}${name}`;
    groups.push({ id: stableGuid(`group:${opts.seed ?? 0}:${i}`), name, sessionKey: stableGuid(`group-session:${opts.seed ?? 0}:${i}`), members: [...members] });
  }

  const presence: Record<string, Presence> = {};
  for (const u of users) {
    const r = rnd();
    presence[u.account] = r < 0.5 ? 0 : r < 0.85 ? 1 : 2;
  }
  return { depts, users, groups, presence };
}

export { pairSessionKey };
