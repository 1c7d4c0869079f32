import { Alert, Input, Space, Table, Tag } from 'antd';
import { useState } from 'react';
import type { GroupListView, GroupSummaryView } from '../../../gateway/src/admin/api-types-system';
import { useApiGet } from '../use-api';
import { useI18n } from '../i18n';

const PAGE_SIZE = 20;

export default function GroupsPage() {
  const { t } = useI18n();
  const [q, setQ] = useState('');
  const [page, setPage] = useState(1);
  const { data, error, loading } = useApiGet<GroupListView>('/groups', { q: q.trim(), offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE });

  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Input.Search
        allowClear
        placeholder={t('groups.search')}
        style={{ maxWidth: 360 }}
        onSearch={(v) => {
          setQ(v);
          setPage(1);
        }}
      />
      {error && <Alert type="error" showIcon message={error} />}
      <Table<GroupSummaryView>
        rowKey="id"
        size="small"
        loading={loading}
        dataSource={data?.groups ?? []}
        pagination={{ current: page, pageSize: PAGE_SIZE, total: data?.total ?? 0, showSizeChanger: false, showTotal: (n) => t('total', { n }), onChange: setPage }}
        columns={[
          { title: t('groups.name'), dataIndex: 'name' },
          { title: t('groups.owner'), dataIndex: 'ownerName', render: (v: string | null) => v ?? '—' },
          { title: t('groups.origin'), dataIndex: 'origin', render: (v: string) => <Tag>{v}</Tag> },
          { title: t('groups.members'), dataIndex: 'memberCount' },
          { title: t('groups.limit'), dataIndex: 'memberLimit', render: (v: number | null) => v ?? t('groups.noLimit') },
        ]}
      />
    </Space>
  );
}
