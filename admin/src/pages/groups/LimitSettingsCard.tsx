import { Alert, App, Button, Card, Form, InputNumber, Spin, Typography } from 'antd';
import { useEffect, useState } from 'react';
import type { GroupSettingsView } from '../../../../gateway/src/admin/api-types-system';
import { api, errorMessage } from '../../api';
import { useI18n } from '../../i18n';

export const MIN_GROUP_LIMIT = 2;
export const MAX_GROUP_LIMIT = 100_000;

/**
 * The member limits (GET/PUT /groups/settings, right `settings`). Without the
 * right the card says so and reads nothing.
 */
export function LimitSettingsCard({ canEdit, onSaved }: { canEdit: boolean; onSaved(s: GroupSettingsView): void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<GroupSettingsView>();
  const [loaded, setLoaded] = useState<GroupSettingsView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    if (!canEdit) return;
    let live = true;
    api<GroupSettingsView>('GET', '/groups/settings').then(
      (s) => {
        if (!live) return;
        setLoaded(s);
        form.setFieldsValue(s);
      },
      (err: unknown) => live && setError(errorMessage(err)),
    );
    return () => {
      live = false;
    };
  }, [canEdit, form]);

  const save = async () => {
    const v = await form.validateFields();
    setSaving(true);
    setError(null);
    try {
      const s = await api<GroupSettingsView>('PUT', '/groups/settings', { body: v });
      setLoaded(s);
      form.setFieldsValue(s);
      void message.success(t('groups.settingsSaved'));
      onSaved(s);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setSaving(false);
    }
  };

  const range = { type: 'integer' as const, min: MIN_GROUP_LIMIT, max: MAX_GROUP_LIMIT, message: t('groups.settingsRange') };

  return (
    <Card size="small" title={t('groups.settingsTitle')} id="group-limits-card">
      {!canEdit ? (
        <Alert type="info" showIcon message={t('groups.settingsNoRight')} data-testid="group-limits-no-right" />
      ) : (
        <>
          {error && <Alert type="error" showIcon message={error} style={{ marginBottom: 12 }} data-testid="group-limits-error" />}
          {!loaded && !error ? (
            <Spin />
          ) : (
            <Form<GroupSettingsView> form={form} name="group_limits" layout="vertical" onFinish={() => void save()} disabled={!loaded}>
              <Form.Item name="groupMemberLimit" label={t('groups.settingsLocal')} extra={t('groups.settingsLocalHelp')} rules={[{ required: true, message: t('groups.settingsRange') }, range]}>
                <InputNumber addonAfter={t('groups.settingsUnit')} style={{ width: 220 }} />
              </Form.Item>
              <Form.Item name="rtxGroupMemberLimit" label={t('groups.settingsRtx')} extra={t('groups.settingsRtxHelp')} rules={[{ required: true, message: t('groups.settingsRange') }, range]}>
                <InputNumber addonAfter={t('groups.settingsUnit')} style={{ width: 220 }} />
              </Form.Item>
              <Typography.Paragraph type="secondary">{t('groups.settingsHint')}</Typography.Paragraph>
              <Button id="group-limits-save" type="primary" htmlType="submit" loading={saving}>
                {t('groups.settingsSave')}
              </Button>
            </Form>
          )}
        </>
      )}
    </Card>
  );
}
