import { Tabs } from 'antd';
import { useState } from 'react';
import { useI18n } from '../i18n';
import { PreviewPanel } from './portal/PreviewPanel';
import { TemplatesPanel } from './portal/TemplatesPanel';
import { WorkbenchPanel } from './portal/WorkbenchPanel';

/**
 * Workbench / Portal (F-4.1, F-5.1): the mobile workbench's title and
 * banners, the portal templates by priority with their editor, and a preview
 * of what a chosen member's client shows. Right `apps`.
 */
export default function PortalPage() {
  const { t } = useI18n();
  const [tab, setTab] = useState('workbench');
  return (
    <Tabs
      id="portal-tabs"
      activeKey={tab}
      onChange={setTab}
      destroyOnHidden
      items={[
        { key: 'workbench', label: t('portal.tab.workbench'), children: <WorkbenchPanel /> },
        { key: 'templates', label: t('portal.tab.templates'), children: <TemplatesPanel /> },
        { key: 'preview', label: t('portal.tab.preview'), children: <PreviewPanel /> },
      ]}
    />
  );
}
