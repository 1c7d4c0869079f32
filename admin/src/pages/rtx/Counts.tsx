import { Space, Table, Typography } from 'antd';
import type { HTMLAttributes } from 'react';
import { useI18n, type MessageKey } from '../../i18n';
import type { RunCounts } from './types';

const KINDS = ['depts', 'users', 'groups'] as const;

/** One line per kind with changes, for the runs table. */
export function CountsLine({ counts }: { counts: RunCounts | null }) {
  const { t } = useI18n();
  if (!counts) return <>—</>;
  const lines = KINDS.filter((k) => counts[k].created + counts[k].updated + counts[k].removed > 0);
  if (lines.length === 0 && counts.unauthorised === 0) return <Typography.Text type="secondary">0</Typography.Text>;
  return (
    <Space direction="vertical" size={0}>
      {lines.map((k) => (
        <span key={k} data-kind={k}>
          {t(`rtx.counts.${k}` as MessageKey)}: {t('rtx.counts.short', counts[k] as unknown as Record<string, number>)}
        </span>
      ))}
      {counts.unauthorised > 0 && (
        <Typography.Text type="warning">
          {t('rtx.counts.unauthorised')}: {counts.unauthorised}
        </Typography.Text>
      )}
    </Space>
  );
}

/** The plan of an import as a small table: created / updated / removed per kind. */
export function CountsTable({ counts, id }: { counts: RunCounts; id?: string }) {
  const { t } = useI18n();
  const rows = KINDS.map((k) => ({ key: k, kind: t(`rtx.counts.${k}` as MessageKey), ...counts[k] }));
  return (
    <Table
      id={id}
      size="small"
      pagination={false}
      dataSource={rows}
      onRow={(r) => ({ 'data-kind': r.key }) as HTMLAttributes<HTMLElement>}
      columns={[
        { title: t('rtx.import.kind'), dataIndex: 'kind' },
        { title: t('rtx.counts.created'), dataIndex: 'created', render: (n: number) => <span data-count="created">{n}</span> },
        { title: t('rtx.counts.updated'), dataIndex: 'updated', render: (n: number) => <span data-count="updated">{n}</span> },
        { title: t('rtx.counts.removed'), dataIndex: 'removed', render: (n: number) => <span data-count="removed">{n}</span> },
      ]}
      footer={counts.unauthorised > 0 ? () => <Typography.Text type="warning">{`${t('rtx.counts.unauthorised')}: ${counts.unauthorised}`}</Typography.Text> : undefined}
    />
  );
}

export const hasChanges = (c: RunCounts): boolean => KINDS.some((k) => c[k].created + c[k].updated + c[k].removed > 0);
