import { Space, Table, Tag, Typography } from 'antd';
import type { HTMLAttributes } from 'react';
import { useI18n, type Lang, type MessageKey } from '../../i18n';
import { COUNT_KINDS, OPS, type RunCounts, type RunState, type RunView } from './types';

export function formatTime(ms: number | null | undefined, lang: Lang): string {
  if (!ms) return '—';
  return new Date(ms).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** A scheduled time for people: weekday, date and time ("11月30日 周一 02:00"). */
export function formatSlot(ms: number, lang: Lang): string {
  return new Date(ms).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false, weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** How long a run took (or has taken so far). */
export function runDuration(r: RunView): number | null {
  if (r.timings?.totalMs !== undefined) return r.timings.totalMs;
  return r.finishedAt ? r.finishedAt - r.startedAt : null;
}

const STATE_COLOR: Record<RunState, string> = {
  reading: 'processing',
  planning: 'processing',
  applying: 'processing',
  planned: 'blue',
  needs_confirmation: 'orange',
  applied: 'green',
  failed: 'red',
  cancelled: 'default',
};

export function RunStateTag({ state }: { state: RunState }) {
  const { t } = useI18n();
  return (
    <Tag color={STATE_COLOR[state]} data-testid="sync-run-state" data-state={state} style={state === 'needs_confirmation' ? { fontWeight: 600 } : undefined}>
      {t(`sync.state.${state}` as MessageKey)}
    </Tag>
  );
}

const hasAny = (c: RunCounts, k: (typeof COUNT_KINDS)[number]) => OPS.some((op) => c[k][op] > 0);

/** One line per kind with changes ("成员：新建 5，停用 3"), for tables. */
export function CountsLine({ counts }: { counts: RunCounts | null }) {
  const { t } = useI18n();
  if (!counts) return <>—</>;
  const kinds = COUNT_KINDS.filter((k) => hasAny(counts, k));
  if (kinds.length === 0) return <Typography.Text type="secondary">{t('sync.counts.none')}</Typography.Text>;
  return (
    <Space direction="vertical" size={0} data-testid="sync-counts">
      {kinds.map((k) => (
        <span key={k} data-kind={k}>
          {t(`sync.kind.${k}` as MessageKey)}：
          {OPS.filter((op) => counts[k][op] > 0)
            .map((op) => `${t(`sync.op.${op}` as MessageKey)} ${counts[k][op]}`)
            .join(t('sync.listSep'))}
        </span>
      ))}
    </Space>
  );
}

/** Every operation per kind, as a table (the run drawer). */
export function CountsTable({ counts }: { counts: RunCounts }) {
  const { t } = useI18n();
  const rows = COUNT_KINDS.map((k) => ({ key: k, ...counts[k] }));
  return (
    <Table
      id="sync-run-counts"
      size="small"
      pagination={false}
      dataSource={rows}
      scroll={{ x: true }}
      onRow={(r) => ({ 'data-kind': r.key }) as HTMLAttributes<HTMLElement>}
      columns={[
        { title: '', key: 'kind', render: (_v, r) => t(`sync.kind.${r.key}` as MessageKey) },
        ...OPS.map((op) => ({
          title: t(`sync.op.${op}` as MessageKey),
          key: op,
          render: (_v: unknown, r: (typeof rows)[number]) => (
            <span data-op={op} style={r[op] > 0 ? { fontWeight: 600 } : { color: '#999' }}>
              {r[op]}
            </span>
          ),
        })),
      ]}
      footer={() => (
        <Typography.Text type="secondary">
          {t('sync.counts.sourceUsers', { n: counts.sourceUsers })}
          {t('sync.listSep')}
          {t('sync.counts.unchanged', { n: counts.unchanged })}
        </Typography.Text>
      )}
    />
  );
}
