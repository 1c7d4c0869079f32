import { createContext, useContext } from 'react';
import * as access from './messages/access';
import * as admins from './messages/admins';
import * as apps from './messages/apps';
import * as appsRules from './messages/apps-rules';
import * as appsSend from './messages/apps-send';
import * as backup from './messages/backup';
import * as broadcast from './messages/broadcast';
import * as core from './messages/core';
import * as excel from './messages/excel';
import * as groups from './messages/groups';
import * as licence from './messages/licence';
import * as logs from './messages/logs';
import * as org from './messages/org';
import * as portal from './messages/portal';
import * as rtx from './messages/rtx';
import * as sync from './messages/sync';

export type Lang = 'zh' | 'en';

/** One module per console area, so each page's messages live beside each other; keys never repeat across modules. */
const zh = { ...core.zh, ...org.zh, ...groups.zh, ...access.zh, ...admins.zh, ...excel.zh, ...licence.zh, ...logs.zh, ...rtx.zh, ...sync.zh, ...backup.zh, ...apps.zh, ...appsRules.zh, ...appsSend.zh, ...portal.zh, ...broadcast.zh };

export type MessageKey = keyof typeof zh;

const en: Record<MessageKey, string> = { ...core.en, ...org.en, ...groups.en, ...access.en, ...admins.en, ...excel.en, ...licence.en, ...logs.en, ...rtx.en, ...sync.en, ...backup.en, ...apps.en, ...appsRules.en, ...appsSend.en, ...portal.en, ...broadcast.en };

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
