import { Tabs } from 'antd';
import { useState } from 'react';
import { useI18n } from '../i18n';
import { ComposePanel } from './broadcast/ComposePanel';
import { HistoryPanel } from './broadcast/HistoryPanel';
import { RightsPanel } from './broadcast/RightsPanel';

/**
 * System broadcast (F-4.10, F-6.2): compose a broadcast to everyone,
 * departments or people (optionally only those online) with a preview and
 * the count it will reach; members' broadcast rights; the history of every
 * broadcast. Right `settings`.
 */
export default function BroadcastPage() {
  const { t } = useI18n();
  const [tab, setTab] = useState('compose');
  return (
    <Tabs
      id="broadcast-tabs"
      activeKey={tab}
      onChange={setTab}
      destroyOnHidden
      items={[
        { key: 'compose', label: t('broadcast.tab.compose'), children: <ComposePanel /> },
        { key: 'rights', label: t('broadcast.tab.rights'), children: <RightsPanel /> },
        { key: 'history', label: t('broadcast.tab.history'), children: <HistoryPanel /> },
      ]}
    />
  );
}
