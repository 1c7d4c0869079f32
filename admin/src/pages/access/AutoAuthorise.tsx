import { Alert, App, Card, Space, Switch, Tooltip, Typography } from 'antd';
import { useEffect, useState } from 'react';
import type { AuthorisationSettingsView } from '../../../../gateway/src/admin/api-types-org';
import { api, errorMessage } from '../../api';
import { useI18n } from '../../i18n';

/**
 * The organisation-wide auto-authorise switch (GET/PUT
 * /authorisation/settings). Administrators with a department scope cannot
 * change it: the switch is disabled with the reason, and whatever the server
 * says when it refuses is shown as it is.
 */
export function AutoAuthorise({ scoped }: { scoped: boolean }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [value, setValue] = useState<boolean | null>(null);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api<AuthorisationSettingsView>('GET', '/authorisation/settings').then(
      (s) => live && setValue(s.autoAuthorise),
      (err: unknown) => live && setError(errorMessage(err)),
    );
    return () => {
      live = false;
    };
  }, []);

  const change = async (next: boolean) => {
    setSaving(true);
    try {
      const s = await api<AuthorisationSettingsView>('PUT', '/authorisation/settings', { body: { autoAuthorise: next } });
      setValue(s.autoAuthorise);
      setError(null);
      void message.success(t('access.autoSaved', { state: t(s.autoAuthorise ? 'access.autoOn' : 'access.autoOff') }));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setSaving(false);
    }
  };

  const control = (
    <Switch
      id="access-auto-authorise"
      checked={value ?? false}
      loading={saving || (value === null && error === null)}
      disabled={scoped || value === null}
      onChange={(next) => void change(next)}
    />
  );

  return (
    <Card size="small" title={t('access.auto')} id="access-auto" style={{ height: '100%' }}>
      <Space direction="vertical" style={{ width: '100%' }}>
        <Space>
          {scoped ? (
            <Tooltip title={t('access.autoScoped')}>
              <span data-testid="access-auto-scoped">{control}</span>
            </Tooltip>
          ) : (
            control
          )}
          <Typography.Text data-testid="access-auto-state">{value === null ? '—' : t(value ? 'access.autoOn' : 'access.autoOff')}</Typography.Text>
        </Space>
        <Typography.Paragraph type="secondary" style={{ marginBottom: 0 }}>
          {t('access.autoHelp')}
        </Typography.Paragraph>
        {error && <Alert type="error" showIcon message={error} data-testid="access-auto-error" />}
      </Space>
    </Card>
  );
}
