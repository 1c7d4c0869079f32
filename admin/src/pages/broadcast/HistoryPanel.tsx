import { Alert, Button, Space, Table, Tag } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import type { BroadcastHistoryEntryView, BroadcastHistoryView } from '../../../../gateway/src/admin/routes-broadcast';
import { api, errorMessage } from '../../api';
import { useI18n } from '../../i18n';

const PAGE = 50;

/** Every broadcast, newest first: time, sender (member or administrator), title, targets, how many it reached. */
export function HistoryPanel() {
  const { t } = useI18n();
  const [rows, setRows] = useState<BroadcastHistoryEntryView[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async (before: number | null) => {
    setLoading(true);
    try {
      const v = await api<BroadcastHistoryView>('GET', '/broadcast/history', { query: { limit: PAGE, ...(before !== null ? { before } : {}) } });
      setRows((cur) => (before === null ? v.broadcasts : [...cur, ...v.broadcasts]));
      setNext(v.next);
      setError(null);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setLoading(false);
    }
  }, []);
  useEffect(() => {
    void load(null);
  }, [load]);

  const targets = (b: BroadcastHistoryEntryView) => {
    if (b.targets.all) return t('broadcast.history.all');
    const parts = [...b.targets.depts.map((d) => d.path), ...b.targets.users.map((u) => u.name)];
    return `${parts.join('，')}${b.targets.moreUsers > 0 ? ` ${t('broadcast.history.more', { n: b.targets.moreUsers })}` : ''}`;
  };

  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Button id="broadcast-history-refresh" onClick={() => void load(null)}>{t('broadcast.history.refresh')}</Button>
      {error && <Alert type="error" showIcon message={error} />}
      <Table<BroadcastHistoryEntryView>
        id="broadcast-history-table"
        rowKey="id"
        size="small"
        loading={loading}
        dataSource={rows}
        pagination={false}
        columns={[
          { title: t('broadcast.history.time'), key: 'time', width: 180, render: (_, b) => new Date(b.createdAt).toLocaleString() },
          {
            title: t('broadcast.history.sender'), key: 'sender',
            render: (_, b) => (
              <Space size={4}>
                <Tag>{t(b.sender.kind === 'admin' ? 'broadcast.history.admin' : 'broadcast.history.member')}</Tag>
                <span>{b.sender.account && b.sender.account !== b.sender.name ? `${b.sender.name} (${b.sender.account})` : b.sender.name}</span>
              </Space>
            ),
          },
          { title: t('broadcast.history.title'), dataIndex: 'title' },
          {
            title: t('broadcast.history.targets'), key: 'targets',
            render: (_, b) => (
              <Space size={4} wrap>
                {targets(b)}
                {b.onlineOnly && <Tag color="blue">{t('broadcast.history.onlineOnly')}</Tag>}
              </Space>
            ),
          },
          { title: t('broadcast.history.reached'), dataIndex: 'reached', width: 100 },
        ]}
      />
      {next !== null && <Button id="broadcast-history-more" loading={loading} onClick={() => void load(next)}>{t('broadcast.history.loadMore')}</Button>}
    </Space>
  );
}
