import { Space, Switch, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useI18n } from '../../i18n';

export type DiffStatus = 'same' | 'changed' | 'added' | 'removed';

export interface DiffRow {
  field: string;
  before: unknown;
  after: unknown;
  /** false when that side has no such field (or no document at all). */
  hasBefore: boolean;
  hasAfter: boolean;
  status: DiffStatus;
}

/** Objects nested deeper than this are compared (and shown) as one value. */
const MAX_DEPTH = 4;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Nested objects become dotted paths; arrays and scalars are leaves, compared whole. */
function flatten(v: unknown, prefix: string, depth: number, out: Map<string, unknown>): void {
  if (isPlainObject(v) && depth < MAX_DEPTH && Object.keys(v).length > 0) {
    for (const [k, child] of Object.entries(v)) flatten(child, prefix ? `${prefix}.${k}` : k, depth + 1, out);
    return;
  }
  out.set(prefix, v);
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Field-by-field comparison of an entry's before and after documents. A
 * document that is not an object (or is missing) is one field named '' (shown as "—").
 */
export function diffRows(before: unknown, after: unknown): DiffRow[] {
  const b = new Map<string, unknown>();
  const a = new Map<string, unknown>();
  if (before !== null && before !== undefined) flatten(before, '', 0, b);
  if (after !== null && after !== undefined) flatten(after, '', 0, a);
  const fields = [...b.keys(), ...[...a.keys()].filter((k) => !b.has(k))];
  return fields.map((field) => {
    const hasBefore = b.has(field);
    const hasAfter = a.has(field);
    const status: DiffStatus = !hasBefore ? 'added' : !hasAfter ? 'removed' : same(b.get(field), a.get(field)) ? 'same' : 'changed';
    return { field, before: b.get(field), after: a.get(field), hasBefore, hasAfter, status };
  });
}

const ROW_BACKGROUND: Record<DiffStatus, string | undefined> = { same: undefined, changed: '#fffbe6', added: '#f6ffed', removed: '#fff1f0' };
const TAG_COLOUR: Record<Exclude<DiffStatus, 'same'>, string> = { changed: 'gold', added: 'green', removed: 'red' };

/** Text only: values are data from the log, never markup. */
function Value({ present, value, strong }: { present: boolean; value: unknown; strong: boolean }) {
  if (!present) return <Typography.Text type="secondary">—</Typography.Text>;
  // short lists of plain values read best on one line; nested documents keep their structure
  const flat = Array.isArray(value) && value.every((x) => x === null || typeof x !== 'object');
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, flat ? undefined : 1);
  return (
    <Typography.Text strong={strong} style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word', fontFamily: typeof value === 'string' ? undefined : 'monospace' }}>
      {text}
    </Typography.Text>
  );
}

/** Before and after side by side, one line per field, changed fields highlighted. */
export function EntryDiff({ before, after }: { before: unknown; after: unknown }) {
  const { t } = useI18n();
  const [onlyChanged, setOnlyChanged] = useState(false);
  const rows = diffRows(before, after);
  if (rows.length === 0) return <Typography.Text type="secondary">{t('logs.diff.none')}</Typography.Text>;
  const unchanged = rows.filter((r) => r.status === 'same').length;
  const shown = onlyChanged ? rows.filter((r) => r.status !== 'same') : rows;
  const statusLabel = { changed: t('logs.diff.changed'), added: t('logs.diff.added'), removed: t('logs.diff.removed') };

  return (
    <Space direction="vertical" style={{ width: '100%' }} data-testid="log-diff">
      {unchanged > 0 && (
        <Space>
          <Switch size="small" checked={onlyChanged} onChange={setOnlyChanged} data-testid="log-diff-only-changed" />
          <Typography.Text type="secondary">
            {t('logs.diff.onlyChanged')} ({t('logs.diff.unchanged', { n: unchanged })})
          </Typography.Text>
        </Space>
      )}
      <Table<DiffRow>
        rowKey="field"
        size="small"
        pagination={false}
        dataSource={shown}
        onRow={(r) => ({ style: { background: ROW_BACKGROUND[r.status] }, 'data-diff': r.status, 'data-field': r.field }) as React.HTMLAttributes<HTMLElement>}
        columns={[
          {
            title: t('logs.diff.field'),
            dataIndex: 'field',
            width: '24%',
            render: (f: string, r) => (
              <Space size={4} wrap>
                <Typography.Text code>{f || '—'}</Typography.Text>
                {r.status !== 'same' && <Tag color={TAG_COLOUR[r.status]}>{statusLabel[r.status]}</Tag>}
              </Space>
            ),
          },
          { title: t('logs.diff.before'), key: 'before', width: '38%', render: (_v, r) => <Value present={r.hasBefore} value={r.before} strong={false} /> },
          { title: t('logs.diff.after'), key: 'after', width: '38%', render: (_v, r) => <Value present={r.hasAfter} value={r.after} strong={r.status !== 'same'} /> },
        ]}
      />
    </Space>
  );
}
