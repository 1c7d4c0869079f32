import { Alert, Input, Space, Table, Typography } from 'antd';
import { useState } from 'react';
import type { ActionLogEntryView, ActionLogPageView } from '../../../gateway/src/admin/api-types-system';
import { useApiGet } from '../use-api';
import { useI18n } from '../i18n';

const PAGE_SIZE = 50;

function json(v: unknown): string {
  return v === null || v === undefined ? '—' : JSON.stringify(v, null, 2);
}

export default function LogsPage() {
  const { t, lang } = useI18n();
  const [action, setAction] = useState('');
  const [page, setPage] = useState(1);
  const { data, error, loading } = useApiGet<ActionLogPageView>('/log', { action: action.trim(), offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE });

  const fmt = new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'short', timeStyle: 'medium' });

  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Input.Search
        allowClear
        placeholder={t('logs.filter')}
        style={{ maxWidth: 360 }}
        onSearch={(v) => {
          setAction(v);
          setPage(1);
        }}
      />
      {error && <Alert type="error" showIcon message={error} />}
      <Table<ActionLogEntryView>
        rowKey="id"
        size="small"
        loading={loading}
        dataSource={data?.entries ?? []}
        pagination={{ current: page, pageSize: PAGE_SIZE, total: data?.total ?? 0, showSizeChanger: false, showTotal: (n) => t('total', { n }), onChange: setPage }}
        expandable={{
          expandedRowRender: (e) => (
            <Space align="start" size="large">
              <Typography.Text code style={{ whiteSpace: 'pre-wrap' }}>{json(e.before)}</Typography.Text>
              <Typography.Text code style={{ whiteSpace: 'pre-wrap' }}>{json(e.after)}</Typography.Text>
            </Space>
          ),
        }}
        columns={[
          { title: t('logs.at'), dataIndex: 'at', render: (v: number) => fmt.format(new Date(v)) },
          { title: t('logs.admin'), dataIndex: 'adminUsername' },
          { title: t('logs.action'), dataIndex: 'action' },
          { title: t('logs.target'), key: 'target', render: (_v, e) => e.targetLabel ?? (e.targetKind ? `${e.targetKind} ${e.targetId ?? ''}` : '—') },
          { title: t('logs.address'), dataIndex: 'address', render: (v: string | null) => v ?? '—' },
        ]}
      />
    </Space>
  );
}
