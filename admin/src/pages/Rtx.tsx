import { Alert, Card, Space } from 'antd';
import { useState } from 'react';
import type { MeView } from '../../../gateway/src/admin/api-types';
import { useI18n } from '../i18n';
import { CodeCard } from './rtx/CodeCard';
import { ConnectionCard } from './rtx/ConnectionCard';
import { ImportXmlCard } from './rtx/ImportXmlCard';
import { SyncCard } from './rtx/SyncCard';

/**
 * Settings → RTX integration: the plugin channel's link and how to install
 * the adapter, the connection code, organisation sync and its history, and
 * the import of an RTX Manager export for sites without the adapter.
 */
export default function RtxPage({ me }: { me: MeView }) {
  const { t } = useI18n();
  const [runsVersion, setRunsVersion] = useState(0);
  // the import writes members: it needs the members right besides this page's settings right
  const canImport = me.superAdmin || me.rights.includes('members' as MeView['rights'][number]);
  return (
    <Space id="rtx-page" direction="vertical" size="large" style={{ width: '100%' }}>
      <ConnectionCard />
      <CodeCard />
      <SyncCard reloadKey={runsVersion} />
      {canImport ? (
        <ImportXmlCard onApplied={() => setRunsVersion((v) => v + 1)} />
      ) : (
        <Card id="rtx-import-card" title={t('rtx.import.title')}>
          <Alert type="info" showIcon message={t('rtx.import.noRight')} />
        </Card>
      )}
    </Space>
  );
}
