import { Select, Spin } from 'antd';
import { useEffect, useRef, useState } from 'react';
import { api, errorMessage } from '../../api';
import { useI18n } from '../../i18n';
import type { AppPeopleView, NamedUser } from './shared';

type UserId = NamedUser['id'];
const DEBOUNCE_MS = 250;

/**
 * Chooses members for an app's visibility or managers by typing: asks
 * GET /api/admin/apps/people, which answers only people inside the
 * administrator's apps scope (or `path`, another list of the same shape).
 * `known` names the people already chosen.
 */
export function PeoplePicker({ id, value, onChange, known, path = '/apps/people' }: { id: string; value?: UserId[]; onChange?(v: UserId[]): void; known: NamedUser[]; path?: string }) {
  const { t } = useI18n();
  const [found, setFound] = useState<AppPeopleView['members']>([]);
  const [names, setNames] = useState<Map<UserId, string>>(new Map());
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const seq = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(() => {
    setNames((cur) => {
      const next = new Map(cur);
      for (const u of known) next.set(u.id, `${u.name} (${u.account})`);
      return next;
    });
  }, [known]);
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);

  const search = (q: string) => {
    if (timer.current) clearTimeout(timer.current);
    const mine = ++seq.current;
    if (!q.trim()) return setFound([]);
    setLoading(true);
    timer.current = setTimeout(() => {
      api<AppPeopleView>('GET', path, { query: { q: q.trim().slice(0, 64) } }).then(
        (r) => {
          if (mine !== seq.current) return;
          setFound(r.members);
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

  const label = (m: AppPeopleView['members'][number]) => `${m.name} (${m.account})${m.dept ? ` · ${m.dept}` : ''}`;
  const options = found.map((m) => ({ value: m.id, label: label(m) }));
  for (const v of value ?? []) if (!options.some((o) => o.value === v)) options.push({ value: v, label: names.get(v) ?? `#${v}` });

  return (
    <Select<UserId[]>
      id={id}
      mode="multiple"
      style={{ width: '100%' }}
      value={value ?? []}
      filterOption={false}
      showSearch
      onSearch={search}
      onChange={(ids) => {
        setNames((cur) => {
          const next = new Map(cur);
          for (const m of found) if (ids.includes(m.id)) next.set(m.id, `${m.name} (${m.account})`);
          return next;
        });
        onChange?.(ids);
      }}
      notFoundContent={loading ? <Spin size="small" /> : (error ?? t('apps.noMatch'))}
      options={options}
      placeholder={t('apps.peopleSearch')}
      status={error ? 'error' : undefined}
    />
  );
}
