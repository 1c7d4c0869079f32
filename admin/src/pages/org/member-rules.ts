/**
 * The member field rules of the server (gateway/src/directory/service.ts,
 * routes-members.ts, auth/password.ts), checked in the form before sending.
 * The server stays the judge: its answer is shown whatever the form thought.
 */
import type { Rule } from 'antd/es/form';
import type { Translate } from '../../i18n';

export const ACCOUNT_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
export const MOBILE_RE = /^\+?[0-9][0-9 -]{4,19}$/;
export const EMAIL_RE = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;
export const MAX_NAME_CHARS = 64;
export const MIN_PASSWORD_CHARS = 8;
export const MAX_PASSWORD_CHARS = 256;
export const MAX_MEMBER_DEPTS = 50;
export const MAX_ORDER = 1_000_000_000;

const chars = (s: string) => [...s].length;

function check(test: (v: string) => boolean, message: string): Rule {
  return {
    validator: async (_r, v: unknown) => {
      if (typeof v === 'string' && v.trim() !== '' && !test(v)) throw new Error(message);
    },
  };
}

export function memberRules(t: Translate) {
  const name = (what: string): Rule[] => [
    check((v) => chars(v.trim()) <= MAX_NAME_CHARS, t('org.rule.tooLong', { what, n: MAX_NAME_CHARS })),
    check((v) => !CONTROL_RE.test(v), t('org.rule.control', { what })),
  ];
  return {
    account: [{ required: true, message: t('org.rule.accountRequired') }, check((v) => ACCOUNT_RE.test(v), t('org.rule.account'))] as Rule[],
    name: [{ required: true, whitespace: true, message: t('org.rule.nameRequired') }, ...name(t('org.name'))] as Rule[],
    title: name(t('org.title')),
    mobile: [check((v) => MOBILE_RE.test(v.trim()), t('org.rule.phone'))] as Rule[],
    phone: [check((v) => MOBILE_RE.test(v.trim()), t('org.rule.phone'))] as Rule[],
    email: [check((v) => EMAIL_RE.test(v.trim()), t('org.rule.email'))] as Rule[],
    deptIds: [
      { required: true, type: 'array', min: 1, message: t('org.rule.deptRequired') },
      { type: 'array', max: MAX_MEMBER_DEPTS, message: t('org.rule.deptMax', { n: MAX_MEMBER_DEPTS }) },
    ] as Rule[],
    password: (required: boolean): Rule[] => [
      ...(required ? [{ required: true, message: t('org.rule.passwordRequired') }] : []),
      check((v) => chars(v) >= MIN_PASSWORD_CHARS && chars(v) <= MAX_PASSWORD_CHARS, t('org.rule.password', { min: MIN_PASSWORD_CHARS, max: MAX_PASSWORD_CHARS })),
    ],
  };
}

/** A confirm-password rule: equal to the field `field`. */
export function sameAs(field: string, t: Translate): Rule {
  return ({ getFieldValue }) => ({
    validator: async (_r, v: unknown) => {
      if ((v ?? '') !== (getFieldValue(field) ?? '')) throw new Error(t('org.rule.mismatch'));
    },
  });
}
