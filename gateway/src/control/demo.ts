import { hashPassword } from '../auth/password.js';
import { nameToPinyin } from '../directory/pinyin.js';
import type { DeptRecord } from '../directory/types.js';
import type { UserId } from '../protocol/client-v1.js';
import type { Services } from '../services.js';

/** A mid-sized Chinese company: top-level departments with teams, weighted by typical head-count. */
const ORG: [string, number, string[]][] = [
  ['总经办', 2, []],
  ['研发中心', 30, ['平台组', '移动组', '前端组', '测试组', '运维组']],
  ['产品部', 8, ['产品规划组', '用户体验组']],
  ['市场部', 8, ['品牌组', '渠道组']],
  ['销售部', 22, ['华东大区', '华北大区', '华南大区', '西南大区']],
  ['客户服务中心', 12, ['技术支持组', '客服一组', '客服二组']],
  ['财务部', 5, ['会计组', '资金组']],
  ['人力资源部', 5, ['招聘组', '薪酬组']],
  ['行政部', 4, []],
  ['法务部', 2, []],
];
const TITLES: Record<string, string[]> = {
  研发中心: ['软件工程师', '高级软件工程师', '测试工程师', '运维工程师', '架构师', '技术经理'],
  产品部: ['产品经理', '高级产品经理', '交互设计师', '视觉设计师'],
  市场部: ['市场专员', '品牌经理', '市场经理'],
  销售部: ['销售代表', '客户经理', '大区经理', '销售总监'],
  客户服务中心: ['客服专员', '技术支持工程师', '客服主管'],
  财务部: ['会计', '出纳', '财务经理'],
  人力资源部: ['招聘专员', '薪酬专员', 'HRBP', '人力资源经理'],
  行政部: ['行政专员', '前台', '行政经理'],
  法务部: ['法务专员', '法务经理'],
  总经办: ['总经理', '副总经理', '总经理助理'],
};
const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤';
const GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬建国晓东海燕志鹏宇婷浩然思远子涵欣怡梓萱一鸣佳怡雨桐俊杰文博嘉琪诗雨天宇晨曦子轩若曦浩宇梦瑶家豪欣然宏伟';

/** Deterministic pseudo-random numbers, so a seed run is repeatable. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

export interface SeedResult {
  departments: number;
  users: number;
  /** How many of them fit the licence seats and were authorised. */
  authorised: number;
  groups: number;
  password: string;
  sampleAccounts: string[];
}

/**
 * Creates a realistic organisation: ten departments with teams, `users` people
 * with Chinese names, pinyin accounts, mobiles, e-mail and titles, all
 * authorised with one demo password, and a few groups (one per department,
 * capped at the group limit, plus project groups). Running it again reuses the
 * departments and adds more people (accounts get a number suffix).
 */
export async function seedDemo(s: Services, opts: { users: number; password: string }): Promise<SeedResult> {
  const total = Math.max(1, Math.min(Math.floor(opts.users), 100_000));
  const rand = rng(20261128);
  const pick = <T>(arr: ArrayLike<T>): T => arr[Math.floor(rand() * arr.length)] as T;
  const hash = await hashPassword(opts.password);
  // people beyond the free licence seats are created but not authorised
  const licence = await s.licence.status();
  let freeSeats = licence.state === 'expired' ? 0 : Math.max(0, licence.seats - licence.used);
  const weightSum = ORG.reduce((n, [, w]) => n + w, 0);
  const depts: { top: DeptRecord; teams: DeptRecord[]; share: number }[] = [];
  let deptCount = 0;
  for (const [top, weight, teams] of ORG) {
    const d = await s.directory.deptByPath(top, true);
    const ts: DeptRecord[] = [];
    for (const t of teams) ts.push(await s.directory.deptByPath(`${top}/${t}`, true));
    deptCount += 1 + ts.length;
    depts.push({ top: d, teams: ts, share: weight / weightSum });
  }
  const created: { id: UserId; account: string; top: string }[] = [];
  let n = 0;
  for (const dep of depts) {
    const want = dep === depts[depts.length - 1] ? total - n : Math.max(1, Math.round(total * dep.share));
    for (let i = 0; i < want && n < total; i++, n++) {
      const name = pick(SURNAMES) + pick(GIVEN) + (rand() < 0.6 ? pick(GIVEN) : '');
      const base = nameToPinyin(name).full || 'user';
      let account = base;
      for (let k = 2; await s.directory.getUserByAccount(account); k++) account = `${base}${k}`;
      const home = dep.teams.length > 0 && i > 0 ? pick(dep.teams) : dep.top;
      const titles = TITLES[dep.top.name] ?? ['职员'];
      const u = await s.directory.createUser({
        account, name, deptIds: [home.id], passwordHash: hash, authorised: freeSeats-- > 0,
        mobile: `1${pick(['38', '39', '58', '86', '37', '88'])}${String(Math.floor(rand() * 1e8)).padStart(8, '0')}`,
        email: `${account}@example.com`, title: i === 0 ? (titles[titles.length - 1] as string) : pick(titles),
        gender: rand() < 0.5 ? 'male' : 'female', order: i,
      });
      created.push({ id: u.id, account, top: dep.top.name });
    }
  }
  const limit = s.settings.get().groupMemberLimit;
  let groups = 0;
  for (const dep of depts) {
    const members = created.filter((c) => c.top === dep.top.name).slice(0, limit).map((c) => c.id);
    if (members.length < 2) continue;
    await s.directory.createGroup(`${dep.top.name}全员群`, members[0] as UserId, members);
    groups++;
  }
  for (const project of ['汇通二期项目组', '年度客户大会筹备组', '信创适配攻坚组']) {
    const members = Array.from({ length: Math.min(12, created.length) }, () => pick(created).id);
    if (new Set(members).size < 2) continue;
    await s.directory.createGroup(project, members[0] as UserId, [...new Set(members)]);
    groups++;
  }
  const authorisedCount = Math.min(created.length, licence.state === 'expired' ? 0 : Math.max(0, licence.seats - licence.used));
  return { departments: deptCount, users: created.length, authorised: authorisedCount, groups, password: opts.password, sampleAccounts: created.slice(0, 5).map((c) => c.account) };
}
