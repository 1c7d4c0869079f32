import { Card, Table, Tag } from 'antd';
import type { LicenceHistoryEntry } from '../../../../gateway/src/admin/api-types-system';
import { useI18n } from '../../i18n';

/** Every licence imported on this appliance, newest first (GET /licence/history). */
export function LicenceHistory({ licences, loading }: { licences: LicenceHistoryEntry[]; loading: boolean }) {
  const { t, lang } = useI18n();
  const fmt = new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'short', timeStyle: 'short' });
  return (
    <Card title={t('licence.history.title')} size="small" id="licence-history">
      <Table<LicenceHistoryEntry>
        rowKey="id"
        size="small"
        loading={loading}
        dataSource={licences}
        pagination={false}
        locale={{ emptyText: t('licence.history.empty') }}
        onRow={(e) => ({ 'data-licence-id': e.id }) as React.HTMLAttributes<HTMLElement>}
        columns={[
          {
            title: t('licence.id'),
            dataIndex: 'id',
            render: (id: string, e) => (
              <>
                {id} {e.active && <Tag color="green">{t('licence.history.active')}</Tag>}
              </>
            ),
          },
          { title: t('licence.company'), dataIndex: 'company', render: (v: string | null) => v ?? <Tag color="red">{t('licence.history.unverified')}</Tag> },
          { title: t('licence.seats'), dataIndex: 'seats', render: (v: number | null) => v ?? '—' },
          { title: t('licence.issuedAt'), dataIndex: 'issuedAt', render: (v: string | null) => v ?? '—' },
          { title: t('licence.expiresAt'), dataIndex: 'expiresAt', render: (v: string | null) => v ?? '—' },
          { title: t('licence.history.importedAt'), dataIndex: 'importedAt', render: (v: number) => fmt.format(new Date(v)) },
        ]}
      />
    </Card>
  );
}
