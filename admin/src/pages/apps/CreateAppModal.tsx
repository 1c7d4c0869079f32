import { Form, Input, Modal } from 'antd';
import { useState } from 'react';
import { api } from '../../api';
import { useI18n } from '../../i18n';
import { describeError, ErrorAlert, isHttpUrl, type AppWithSecretsView } from './shared';

interface Values {
  name: string;
  description?: string;
  homeUrl?: string;
  mobileUrl?: string;
}

/** A new app with generated appId, EncodingAESKey and Token (POST /apps); the caller shows the secrets once. */
export function CreateAppModal({ open, onClose, onCreated }: { open: boolean; onClose(): void; onCreated(r: AppWithSecretsView): void }) {
  const { t } = useI18n();
  const [form] = Form.useForm<Values>();
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async () => {
    const v = await form.validateFields();
    setSaving(true);
    setError(null);
    try {
      const r = await api<AppWithSecretsView>('POST', '/apps', {
        body: { name: v.name.trim(), description: v.description ?? '', homeUrl: v.homeUrl?.trim() || null, mobileUrl: v.mobileUrl?.trim() || null },
      });
      form.resetFields();
      onCreated(r);
    } catch (err) {
      setError(describeError(err, t));
    } finally {
      setSaving(false);
    }
  };

  return (
    <Modal
      open={open}
      title={t('apps.createTitle')}
      okText={t('apps.ok')}
      cancelText={t('apps.cancel')}
      okButtonProps={{ id: 'app-create-ok', loading: saving }}
      onOk={() => void submit().catch(() => undefined)}
      onCancel={() => {
        setError(null);
        onClose();
      }}
      destroyOnHidden
      width={560}
    >
      <Form<Values> form={form} name="app_create" layout="vertical" preserve={false}>
        <Form.Item name="name" label={t('apps.name')} rules={[{ required: true, whitespace: true, message: t('apps.nameRequired') }, { max: 64 }]}>
          <Input maxLength={64} showCount autoFocus />
        </Form.Item>
        <Form.Item name="description" label={t('apps.description')} rules={[{ max: 500 }]}>
          <Input.TextArea maxLength={500} rows={2} />
        </Form.Item>
        <Form.Item name="homeUrl" label={t('apps.homeUrl')} extra={t('apps.homeUrlHint')} rules={[{ validator: async (_r, v: string | undefined) => { if (v && !isHttpUrl(v)) throw new Error(t('apps.urlInvalid')); } }]}>
          <Input placeholder="https://" />
        </Form.Item>
        <Form.Item name="mobileUrl" label={t('apps.mobileUrl')} extra={t('apps.mobileUrlHint')}>
          <Input placeholder="myapp://open" />
        </Form.Item>
      </Form>
      <ErrorAlert error={error} id="app-create-error" />
    </Modal>
  );
}
