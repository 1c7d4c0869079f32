import { pinyin } from 'pinyin-pro';

export interface PinyinKeys {
  /** Full syllables without tones, joined: "zhangsanfeng". Used for sorting and search. */
  full: string;
  /** First letters: "zsf". */
  initials: string;
}

/** Pinyin of a person's name, reading the first character as a surname (曾 = zeng). */
export function nameToPinyin(name: string): PinyinKeys {
  const syllables = pinyin(name, { toneType: 'none', type: 'array', surname: 'head', nonZh: 'consecutive' })
    .map((s) => s.toLowerCase().replace(/[^a-z0-9]/g, ''))
    .filter(Boolean);
  return { full: syllables.join(''), initials: syllables.map((s) => s[0]).join('') };
}
