import { createContext, useContext } from 'react';

export type Lang = 'zh' | 'en';

const zh = {
  appName: '汇通管理控制台',
  language: 'English',
  loading: '加载中…',
  retry: '重试',
  logout: '退出登录',
  'menu.org': '组织架构',
  'menu.groups': '群组',
  'menu.licence': '授权',
  'menu.logs': '操作日志',
  'login.title': '管理员登录',
  'login.username': '用户名',
  'login.password': '密码',
  'login.submit': '登录',
  'login.required': '请输入用户名和密码',
  'setup.title': '初始化向导',
  'setup.step.status': '系统状态',
  'setup.step.admin': '创建管理员',
  'setup.step.licence': '授权许可',
  'setup.listener': '监听',
  'setup.port': '端口',
  'setup.up': '运行中',
  'setup.down': '未运行',
  'setup.database': '数据库',
  'setup.version': '版本',
  'setup.refresh': '刷新',
  'setup.next': '下一步',
  'setup.prev': '上一步',
  'setup.displayName': '显示名称（可选）',
  'setup.confirm': '确认密码',
  'setup.mismatch': '两次输入的密码不一致',
  'setup.usernameRule': '3–32 位字母、数字或 . _ -',
  'setup.passwordRule': '至少 8 位',
  'setup.create': '创建管理员',
  'setup.created': '管理员已创建并登录',
  'setup.finish': '进入控制台',
  'setup.warning': '在完成初始化之前，任何能访问 7080 端口的人都可以占用本设备，请尽快完成。',
  'org.depts': '部门',
  'org.members': '成员',
  'org.search': '搜索姓名、拼音、账号或手机',
  'org.pickDept': '请在左侧选择部门',
  'org.account': '账号',
  'org.name': '姓名',
  'org.title': '职务',
  'org.mobile': '手机',
  'org.status': '状态',
  'org.authorised': '已授权',
  'org.blocked': '已禁止',
  'org.active': '正常',
  'org.disabled': '停用',
  'org.dept': '所属部门',
  'groups.name': '群名称',
  'groups.owner': '群主',
  'groups.origin': '来源',
  'groups.members': '成员数',
  'groups.limit': '人数上限',
  'groups.noLimit': '不限（白名单）',
  'groups.search': '搜索群名称',
  'licence.state': '状态',
  'licence.company': '公司',
  'licence.seats': '授权人数',
  'licence.used': '已用',
  'licence.issuedAt': '签发日期',
  'licence.expiresAt': '到期日',
  'licence.daysLeft': '剩余天数',
  'licence.id': '许可证编号',
  'licence.none': '无法读取许可证状态',
  'licence.trial': '试用',
  'licence.valid': '有效',
  'licence.expiring': '即将到期',
  'licence.expired': '已过期',
  'logs.at': '时间',
  'logs.admin': '管理员',
  'logs.action': '操作',
  'logs.target': '对象',
  'logs.address': '来源地址',
  'logs.filter': '按操作筛选，如 group.*',
  noRight: '您没有查看此页面的权限',
  total: '共 {n} 条',
};

export type MessageKey = keyof typeof zh;

const en: Record<MessageKey, string> = {
  appName: 'Huitong Admin Console',
  language: '中文',
  loading: 'Loading…',
  retry: 'Retry',
  logout: 'Log out',
  'menu.org': 'Organisation',
  'menu.groups': 'Groups',
  'menu.licence': 'Licence',
  'menu.logs': 'Action log',
  'login.title': 'Administrator login',
  'login.username': 'Username',
  'login.password': 'Password',
  'login.submit': 'Log in',
  'login.required': 'Enter the username and password',
  'setup.title': 'Setup',
  'setup.step.status': 'System status',
  'setup.step.admin': 'Administrator',
  'setup.step.licence': 'Licence',
  'setup.listener': 'Listener',
  'setup.port': 'Port',
  'setup.up': 'up',
  'setup.down': 'down',
  'setup.database': 'Database',
  'setup.version': 'Version',
  'setup.refresh': 'Refresh',
  'setup.next': 'Next',
  'setup.prev': 'Back',
  'setup.displayName': 'Display name (optional)',
  'setup.confirm': 'Confirm password',
  'setup.mismatch': 'The passwords differ',
  'setup.usernameRule': '3–32 letters, digits or . _ -',
  'setup.passwordRule': 'at least 8 characters',
  'setup.create': 'Create administrator',
  'setup.created': 'Administrator created and logged in',
  'setup.finish': 'Open the console',
  'setup.warning': 'Until setup is finished, anyone who can reach port 7080 can claim this appliance: finish it now.',
  'org.depts': 'Departments',
  'org.members': 'Members',
  'org.search': 'Search name, pinyin, account or mobile',
  'org.pickDept': 'Select a department on the left',
  'org.account': 'Account',
  'org.name': 'Name',
  'org.title': 'Title',
  'org.mobile': 'Mobile',
  'org.status': 'Status',
  'org.authorised': 'Authorised',
  'org.blocked': 'Blocked',
  'org.active': 'Active',
  'org.disabled': 'Disabled',
  'org.dept': 'Departments',
  'groups.name': 'Name',
  'groups.owner': 'Owner',
  'groups.origin': 'Origin',
  'groups.members': 'Members',
  'groups.limit': 'Member limit',
  'groups.noLimit': 'none (whitelist)',
  'groups.search': 'Search group names',
  'licence.state': 'State',
  'licence.company': 'Company',
  'licence.seats': 'Seats',
  'licence.used': 'Used',
  'licence.issuedAt': 'Issued',
  'licence.expiresAt': 'Expires',
  'licence.daysLeft': 'Days left',
  'licence.id': 'Licence id',
  'licence.none': 'The licence state cannot be read',
  'licence.trial': 'Trial',
  'licence.valid': 'Valid',
  'licence.expiring': 'Expiring',
  'licence.expired': 'Expired',
  'logs.at': 'Time',
  'logs.admin': 'Administrator',
  'logs.action': 'Action',
  'logs.target': 'Target',
  'logs.address': 'Address',
  'logs.filter': 'Filter by action, e.g. group.*',
  noRight: 'You have no right to see this page',
  total: '{n} in all',
};

export const dictionaries: Record<Lang, Record<MessageKey, string>> = { zh, en };

export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

export function makeT(lang: Lang): Translate {
  const dict = dictionaries[lang];
  return (key, vars) => {
    let s = dict[key] ?? key;
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.replace(`{${k}}`, String(v));
    return s;
  };
}

export interface I18n {
  lang: Lang;
  t: Translate;
  setLang(lang: Lang): void;
}

export const I18nContext = createContext<I18n>({ lang: 'zh', t: makeT('zh'), setLang: () => {} });

export function useI18n(): I18n {
  return useContext(I18nContext);
}

export function initialLang(): Lang {
  try {
    const saved = window.localStorage.getItem('huitong.lang');
    if (saved === 'en' || saved === 'zh') return saved;
  } catch {
    // storage unavailable: the default
  }
  return 'zh';
}

export function saveLang(lang: Lang): void {
  try {
    window.localStorage.setItem('huitong.lang', lang);
  } catch {
    // not kept: fine
  }
}
