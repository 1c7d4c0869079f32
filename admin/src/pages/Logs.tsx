import { Alert, Button, Form, Space, Table, Tag, Tooltip, Typography } from 'antd';
import { useEffect, useMemo, useState } from 'react';
import type { AdminView } from '../../../gateway/src/admin/api-types';
import type { ActionLogEntryView, ActionLogPageView } from '../../../gateway/src/admin/api-types-system';
import { api } from '../api';
import { useI18n, type MessageKey } from '../i18n';
import { useApiGet } from '../use-api';
import { EntryDiff } from './logs/Diff';
import { LogFilters, TARGET_KINDS, type FilterValues, type LogFilter } from './logs/Filters';

const PAGE_SIZES = [20, 50, 100, 200];

/**
 * The administrator action log: filters by administrator, action (exact or a
 * `prefix.*`), target and time range, paged on the server, newest first; each
 * row opens to its before/after documents side by side.
 */
export default function LogsPage() {
  const { t, lang } = useI18n();
  const [form] = Form.useForm<FilterValues>();
  const [filter, setFilter] = useState<LogFilter>({});
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(50);
  const { data, error, loading } = useApiGet<ActionLogPageView>('/log', { ...filter, offset: (page - 1) * pageSize, limit: pageSize });

  // administrators to filter by: the list when this administrator may read it, plus everyone seen in the log
  const [known, setKnown] = useState<Map<number, string>>(new Map());
  useEffect(() => {
    api<{ admins: AdminView[] }>('GET', '/admins').then(
      (r) => setKnown((m) => new Map([...m, ...r.admins.map((a) => [a.id as number, a.username] as const)])),
      () => undefined, // no `admins` right: the log's own entries still fill the list
    );
  }, []);
  useEffect(() => {
    const seen = (data?.entries ?? []).filter((e) => e.adminId !== null).map((e) => [e.adminId as number, e.adminUsername] as const);
    if (seen.some(([id]) => !known.has(id))) setKnown((m) => new Map([...seen, ...m]));
  }, [data, known]);
  const admins = useMemo(() => [...known].map(([id, username]) => ({ id, username })).sort((a, b) => a.username.localeCompare(b.username)), [known]);

  const fmt = new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'short', timeStyle: 'medium' });
  const apply = (f: LogFilter) => {
    setFilter(f);
    setPage(1);
  };
  const kindLabel = (k: string) => ((TARGET_KINDS as readonly string[]).includes(k) ? t(`logs.kind.${k}` as MessageKey) : k);

  return (
    <Space direction="vertical" style={{ width: '100%' }} id="logs-page">
      <LogFilters form={form} admins={admins} onApply={apply} />
      {error && <Alert type="error" showIcon message={error} />}
      <Table<ActionLogEntryView>
        id="log-table"
        rowKey="id"
        size="small"
        loading={loading}
        dataSource={data?.entries ?? []}
        onRow={(e) => ({ 'data-log-id': e.id, 'data-action': e.action }) as React.HTMLAttributes<HTMLElement>}
        pagination={{
          current: page,
          pageSize,
          total: data?.total ?? 0,
          showSizeChanger: true,
          pageSizeOptions: PAGE_SIZES,
          showTotal: (n) => <span data-testid="log-total">{t('total', { n })}</span>,
          onChange: (p, size) => {
            if (size !== pageSize) {
              setPageSize(size);
              setPage(1);
            } else setPage(p);
          },
        }}
        expandable={{ expandedRowRender: (e) => <EntryDiff before={e.before} after={e.after} /> }}
        columns={[
          { title: t('logs.at'), dataIndex: 'at', width: 180, render: (v: number) => fmt.format(new Date(v)) },
          {
            title: t('logs.admin'),
            dataIndex: 'adminUsername',
            render: (v: string, e) => (e.adminId === null ? <Tooltip title={t('logs.cli')}>{v}</Tooltip> : v),
          },
          { title: t('logs.action'), dataIndex: 'action', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
          {
            title: t('logs.target'),
            key: 'target',
            render: (_v, e) =>
              e.targetKind ? (
                <Space size={4} wrap>
                  <Tag>{kindLabel(e.targetKind)}</Tag>
                  <span>{e.targetLabel ?? e.targetId ?? ''}</span>
                  {e.targetId !== null && (
                    <Tooltip title={t('logs.filter.byTarget')}>
                      <Button
                        size="small"
                        type="link"
                        data-testid="log-filter-by-target"
                        onClick={() => {
                          form.setFieldsValue({ targetKind: e.targetKind ?? undefined, targetId: e.targetId ?? undefined });
                          form.submit();
                        }}
                      >
                        #{e.targetId}
                      </Button>
                    </Tooltip>
                  )}
                </Space>
              ) : (
                '—'
              ),
          },
          { title: t('logs.address'), dataIndex: 'address', render: (v: string | null) => v ?? '—' },
        ]}
      />
    </Space>
  );
}
