import { Alert, Button, Drawer, Popconfirm, Space, Spin, Tabs, Tag, App as AntApp } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { api } from '../../api';
import { useI18n } from '../../i18n';
import { BasicTab } from './BasicTab';
import { EXTRA_TABS } from './extra-tabs';
import { KeysTab } from './KeysTab';
import { describeError, type AppDetailView } from './shared';
import { VisibilityTab } from './VisibilityTab';

/**
 * One app: Basic, Visibility and Keys, then the tabs of EXTRA_TABS. A refused
 * write because someone else changed the app reloads it (its version).
 */
export function AppDetail({ id, onClose, onChanged }: { id: number | null; onClose(): void; onChanged(): void }) {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const [app, setApp] = useState<AppDetailView | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    if (id === null) return;
    api<AppDetailView>('GET', `/apps/${id}`).then(
      (a) => {
        setApp(a);
        setError(null);
      },
      (err: unknown) => setError(describeError(err, t)),
    );
  }, [id, t]);

  useEffect(() => {
    setApp(null);
    load();
  }, [load]);

  const saved = (a: AppDetailView) => {
    setApp(a);
    onChanged();
  };

  const remove = async () => {
    if (!app) return;
    try {
      await api<void>('DELETE', `/apps/${app.id}`, { query: { version: app.version } });
      void message.success(t('apps.deleted'));
      onChanged();
      onClose();
    } catch (err) {
      setError(describeError(err, t));
    }
  };

  const tabProps = app ? { app, onSaved: saved, onStale: load } : null;
  return (
    <Drawer
      id="app-detail"
      open={id !== null}
      onClose={onClose}
      width={720}
      destroyOnHidden
      title={app ? <Space>{app.name}{app.appId && <Tag>{app.appId}</Tag>}</Space> : null}
      extra={
        app?.kind === 'custom' ? (
          <Popconfirm title={t('apps.deleteConfirm', { name: app.name })} okText={t('apps.ok')} cancelText={t('apps.cancel')} okButtonProps={{ id: 'app-delete-ok', danger: true }} onConfirm={() => void remove()}>
            <Button id="app-delete" danger>{t('apps.delete')}</Button>
          </Popconfirm>
        ) : null
      }
    >
      {error && <Alert id="app-detail-error" type="error" showIcon message={error} style={{ marginBottom: 12 }} />}
      {!tabProps ? (
        !error && <Spin />
      ) : (
        <Tabs
          id="app-tabs"
          items={[
            { key: 'basic', label: t('apps.tab.basic'), children: <BasicTab {...tabProps} /> },
            ...(tabProps.app.role === 'integration' ? [] : [{ key: 'visibility', label: t('apps.tab.visibility'), children: <VisibilityTab {...tabProps} /> }]),
            { key: 'keys', label: t('apps.tab.keys'), children: <KeysTab {...tabProps} /> },
            // sending, auto-reply, menus and callbacks belong to apps of the open API
            ...(tabProps.app.appId === null ? [] : EXTRA_TABS.map(({ key, label, Tab }) => ({ key, label: t(label), children: <Tab appId={tabProps.app.id} /> }))),
          ]}
        />
      )}
    </Drawer>
  );
}
