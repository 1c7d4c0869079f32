import { Avatar, Button, Form, Input, Space, Switch, Upload, App as AntApp } from 'antd';
import { useEffect, useState } from 'react';
import { ApiError, api, fetchMe, getCsrfToken, sessionEnded } from '../../api';
import { useI18n } from '../../i18n';
import { PeoplePicker } from './PeoplePicker';
import { describeError, ErrorAlert, isHttpUrl, isStale, type AppDetailView } from './shared';

type UserId = AppDetailView['managers'][number]['id'];
const MAX_LOGO_BYTES = 512 * 1024;

interface Values {
  name: string;
  description: string;
  homeUrl: string;
  mobileUrl: string;
  enabled: boolean;
  managers: UserId[];
}

async function uploadLogo(appId: number, version: number, file: File): Promise<AppDetailView> {
  const token = getCsrfToken() ?? (await fetchMe()).csrfToken;
  const res = await fetch(`/api/admin/apps/${appId}/logo?version=${version}`, {
    method: 'PUT', credentials: 'same-origin', body: file,
    headers: { 'content-type': file.type === 'image/jpeg' ? 'image/jpeg' : 'image/png', 'x-csrf-token': token, accept: 'application/json' },
  });
  const text = await res.text();
  let data: unknown = null;
  try {
    data = JSON.parse(text);
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string } } | null)?.error;
    if (res.status === 401) sessionEnded();
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? res.statusText);
  }
  return data as AppDetailView;
}

/** Name, logo, description, home page (the mail web address for the mail assistant), mobile jump, managers, enabled. */
export function BasicTab({ app, onSaved, onStale }: { app: AppDetailView; onSaved(a: AppDetailView): void; onStale(): void }) {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const [form] = Form.useForm<Values>();
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const mail = app.role === 'mail';

  useEffect(() => {
    form.setFieldsValue({
      name: app.name, description: app.description, homeUrl: app.homeUrl ?? '', mobileUrl: app.mobileUrl ?? '', enabled: app.enabled, managers: app.managers.map((m) => m.id),
    });
  }, [app, form]);

  const fail = (err: unknown) => {
    setError(describeError(err, t));
    if (isStale(err)) onStale();
  };

  const save = async () => {
    const v = await form.validateFields();
    setSaving(true);
    setError(null);
    try {
      const next = await api<AppDetailView>('PATCH', `/apps/${app.id}`, {
        body: {
          version: app.version, name: v.name.trim(), description: v.description ?? '', homeUrl: v.homeUrl?.trim() || null, mobileUrl: v.mobileUrl?.trim() || null,
          enabled: v.enabled, managers: v.managers ?? [],
        },
      });
      void message.success(t('apps.saved'));
      onSaved(next);
    } catch (err) {
      fail(err);
    } finally {
      setSaving(false);
    }
  };

  const setLogo = async (file: File | null) => {
    setError(null);
    try {
      const next = file ? await uploadLogo(app.id, app.version, file) : await api<AppDetailView>('PATCH', `/apps/${app.id}`, { body: { version: app.version, logo: null } });
      void message.success(t('apps.logoUploaded'));
      onSaved(next);
    } catch (err) {
      fail(err);
    }
  };

  return (
    <Form<Values> form={form} name="app_basic" layout="vertical">
      <Form.Item label={t('apps.logo')} extra={t('apps.logoHint')}>
        <Space>
          <span id="app-logo" data-src={app.logoUrl ?? ''}><Avatar shape="square" size={48} src={app.logoUrl ?? undefined}>{app.name.slice(0, 1)}</Avatar></span>
          <Upload
            accept="image/png,image/jpeg"
            showUploadList={false}
            beforeUpload={(file) => {
              if (file.size > MAX_LOGO_BYTES) setError(t('apps.logoTooLarge'));
              else void setLogo(file);
              return false;
            }}
          >
            <Button id="app-logo-upload">{t('apps.logoUpload')}</Button>
          </Upload>
          {app.logoUrl && <Button onClick={() => void setLogo(null)}>{t('apps.logoRemove')}</Button>}
        </Space>
      </Form.Item>
      <Form.Item name="name" label={t('apps.name')} rules={[{ required: true, whitespace: true, message: t('apps.nameRequired') }, { max: 64 }]}>
        <Input maxLength={64} />
      </Form.Item>
      <Form.Item name="description" label={t('apps.description')} rules={[{ max: 500 }]}>
        <Input.TextArea maxLength={500} rows={2} />
      </Form.Item>
      <Form.Item
        name="homeUrl"
        label={mail ? t('apps.mailUrl') : t('apps.homeUrl')}
        extra={mail ? t('apps.mailUrlHint') : t('apps.homeUrlHint')}
        rules={[{ validator: async (_r, v: string | undefined) => { if (v && !isHttpUrl(v)) throw new Error(t('apps.urlInvalid')); } }]}
      >
        <Input placeholder="https://" />
      </Form.Item>
      <Form.Item name="mobileUrl" label={t('apps.mobileUrl')} extra={t('apps.mobileUrlHint')}>
        <Input placeholder="myapp://open" />
      </Form.Item>
      <Form.Item name="managers" label={t('apps.managers')} extra={app.hiddenManagers > 0 ? t('apps.visibilityHidden', { depts: 0, users: app.hiddenManagers }) : t('apps.managersHint')}>
        <PeoplePicker id="app-managers" known={app.managers} />
      </Form.Item>
      <Form.Item name="enabled" label={t('apps.enabledSwitch')} valuePropName="checked">
        <Switch id="app-enabled" />
      </Form.Item>
      <Button id="app-basic-save" type="primary" loading={saving} onClick={() => void save().catch(() => undefined)}>
        {t('apps.save')}
      </Button>
      <ErrorAlert error={error} id="app-basic-error" />
    </Form>
  );
}
