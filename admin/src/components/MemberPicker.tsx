import { Select, Spin } from 'antd';
import { useEffect, useRef, useState } from 'react';
import type { MemberPageView, MemberView } from '../../../gateway/src/admin/api-types-org';
import { api, errorMessage } from '../api';
import { useI18n } from '../i18n';

type UserId = MemberView['id'];

export interface MemberPickerProps {
  value?: UserId[];
  onChange?(value: UserId[], members: MemberView[]): void;
  placeholder?: string;
  disabled?: boolean;
  id?: string;
  /** Limit the choice, e.g. to members not yet in a group. */
  exclude?: ReadonlySet<UserId>;
  style?: React.CSSProperties;
}

const DEBOUNCE_MS = 250;

/**
 * Chooses members by typing a name, pinyin, account or mobile: each keystroke
 * (debounced) asks the server (GET /api/admin/members?q=) for 20 matches.
 */
export function MemberPicker({ value, onChange, placeholder, disabled, id, exclude, style }: MemberPickerProps) {
  const { t } = useI18n();
  const [found, setFound] = useState<MemberView[]>([]);
  const [chosen, setChosen] = useState<Map<UserId, MemberView>>(new Map());
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const seq = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);

  const search = (q: string) => {
    if (timer.current) clearTimeout(timer.current);
    const mine = ++seq.current;
    if (!q.trim()) {
      setFound([]);
      setLoading(false);
      return;
    }
    setLoading(true);
    timer.current = setTimeout(() => {
      api<MemberPageView>('GET', '/members', { query: { q: q.trim().slice(0, 64), limit: 20 } }).then(
        (page) => {
          if (mine !== seq.current) return;
          setFound(page.members);
          setError(null);
          setLoading(false);
        },
        (err: unknown) => {
          if (mine !== seq.current) return;
          setError(errorMessage(err));
          setLoading(false);
        },
      );
    }, DEBOUNCE_MS);
  };

  const label = (m: MemberView) => `${m.name} (${m.account})${m.depts[0] ? ` · ${m.depts[0].name}` : ''}`;
  const options = found.filter((m) => !exclude?.has(m.id)).map((m) => ({ value: m.id, label: label(m) }));
  for (const id of value ?? []) {
    const m = chosen.get(id);
    if (m && !options.some((o) => o.value === id)) options.push({ value: id, label: label(m) });
  }

  return (
    <Select<UserId[]>
      id={id}
      mode="multiple"
      style={{ width: '100%', ...style }}
      value={value ?? []}
      filterOption={false}
      showSearch
      onSearch={search}
      onChange={(ids) => {
        const next = new Map(chosen);
        for (const m of found) if (ids.includes(m.id)) next.set(m.id, m);
        for (const k of [...next.keys()]) if (!ids.includes(k)) next.delete(k);
        setChosen(next);
        onChange?.(ids, ids.map((i) => next.get(i)).filter((m): m is MemberView => !!m));
      }}
      notFoundContent={loading ? <Spin size="small" /> : (error ?? t('picker.noMatch'))}
      options={options}
      placeholder={placeholder ?? t('picker.member')}
      disabled={disabled}
      status={error ? 'error' : undefined}
    />
  );
}
