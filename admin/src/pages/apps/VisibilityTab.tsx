import { Alert, Button, Form, Radio, App as AntApp } from 'antd';
import { useEffect, useState } from 'react';
import { api } from '../../api';
import { DeptPicker } from '../../components/DeptPicker';
import { useI18n } from '../../i18n';
import { PeoplePicker } from './PeoplePicker';
import { describeError, ErrorAlert, isStale, type AppDetailView } from './shared';

type DeptId = AppDetailView['visibilityDetail']['depts'][number]['id'];
type UserId = AppDetailView['visibilityDetail']['users'][number]['id'];

interface Values {
  mode: 'all' | 'some';
  depts: DeptId[];
  users: UserId[];
}

/** Who sees the app: everyone, or departments (with subdepartments) and people (PUT /apps/:id/visibility). */
export function VisibilityTab({ app, onSaved, onStale }: { app: AppDetailView; onSaved(a: AppDetailView): void; onStale(): void }) {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const [form] = Form.useForm<Values>();
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const mode = Form.useWatch('mode', form);
  const v = app.visibilityDetail;

  useEffect(() => {
    form.setFieldsValue({ mode: v.all ? 'all' : 'some', depts: v.depts.map((d) => d.id), users: v.users.map((u) => u.id) });
  }, [app, form, v]);

  const save = async () => {
    const values = form.getFieldsValue();
    setSaving(true);
    setError(null);
    try {
      const body = values.mode === 'all' ? { version: app.version, all: true } : { version: app.version, all: false, depts: values.depts ?? [], users: values.users ?? [] };
      const next = await api<AppDetailView>('PUT', `/apps/${app.id}/visibility`, { body });
      void message.success(t('apps.saved'));
      onSaved(next);
    } catch (err) {
      setError(describeError(err, t));
      if (isStale(err)) onStale();
    } finally {
      setSaving(false);
    }
  };

  return (
    <Form<Values> form={form} name="app_visibility" layout="vertical">
      <Form.Item name="mode">
        <Radio.Group id="app-visibility-mode">
          <Radio value="all">{t('apps.visibilityAll')}</Radio>
          <Radio value="some">{t('apps.visibilitySome')}</Radio>
        </Radio.Group>
      </Form.Item>
      {mode === 'some' && (
        <>
          <Form.Item name="depts" label={t('apps.visibilityDepts')}>
            <DeptPicker id="app-visibility-depts" multiple known={v.depts.map((d) => ({ id: d.id, name: d.path }))} />
          </Form.Item>
          <Form.Item name="users" label={t('apps.visibilityUsers')}>
            <PeoplePicker id="app-visibility-users" known={v.users} />
          </Form.Item>
        </>
      )}
      {(v.hiddenDepts > 0 || v.hiddenUsers > 0) && <Alert type="info" showIcon style={{ marginBottom: 12 }} message={t('apps.visibilityHidden', { depts: v.hiddenDepts, users: v.hiddenUsers })} />}
      <Button id="app-visibility-save" type="primary" loading={saving} onClick={() => void save()}>
        {t('apps.save')}
      </Button>
      <ErrorAlert error={error} id="app-visibility-error" />
    </Form>
  );
}
