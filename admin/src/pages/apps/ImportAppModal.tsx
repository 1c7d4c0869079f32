import { Alert, Form, Input, InputNumber, Modal } from 'antd';
import { useState } from 'react';
import { api } from '../../api';
import { useI18n } from '../../i18n';
import { describeError, ErrorAlert, type AppWithSecretsView } from './shared';

interface Values {
  name: string;
  buin: number;
  appId: string;
  encodingAesKey: string;
  token?: string;
}

const AES_KEY_RE = /^[A-Za-z0-9+/]{43}=$/;

/** An app with the values of an existing installation (POST /apps/import); the server checks them again. */
export function ImportAppModal({ open, onClose, onImported }: { open: boolean; onClose(): void; onImported(r: AppWithSecretsView): void }) {
  const { t } = useI18n();
  const [form] = Form.useForm<Values>();
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async () => {
    const v = await form.validateFields();
    setSaving(true);
    setError(null);
    try {
      const r = await api<AppWithSecretsView>('POST', '/apps/import', {
        body: { name: v.name.trim(), buin: v.buin, appId: v.appId.trim(), encodingAesKey: v.encodingAesKey.trim(), token: v.token?.trim() || null },
      });
      form.resetFields();
      onImported(r);
    } catch (err) {
      setError(describeError(err, t));
    } finally {
      setSaving(false);
    }
  };

  return (
    <Modal
      open={open}
      title={t('apps.importTitle')}
      okText={t('apps.ok')}
      cancelText={t('apps.cancel')}
      okButtonProps={{ id: 'app-import-ok', loading: saving }}
      onOk={() => void submit().catch(() => undefined)}
      onCancel={() => {
        setError(null);
        onClose();
      }}
      destroyOnHidden
      width={600}
    >
      <Alert type="info" showIcon message={t('apps.importHint')} style={{ marginBottom: 12 }} />
      <Form<Values> form={form} name="app_import" layout="vertical" preserve={false}>
        <Form.Item name="name" label={t('apps.name')} rules={[{ required: true, whitespace: true, message: t('apps.nameRequired') }, { max: 64 }]}>
          <Input maxLength={64} />
        </Form.Item>
        <Form.Item name="buin" label={t('apps.buin')} rules={[{ required: true, type: 'integer', min: 1, message: t('apps.buinRequired') }]}>
          <InputNumber style={{ width: '100%' }} min={1} max={2147483647} precision={0} />
        </Form.Item>
        <Form.Item name="appId" label={t('apps.appId')} rules={[{ required: true, whitespace: true, message: t('apps.appIdRequired') }, { max: 64 }]}>
          <Input />
        </Form.Item>
        <Form.Item name="encodingAesKey" label={t('apps.aesKey')} rules={[{ required: true, pattern: AES_KEY_RE, message: t('apps.aesKeyInvalid') }]}>
          <Input maxLength={44} />
        </Form.Item>
        <Form.Item name="token" label={t('apps.token')} extra={t('apps.tokenOptional')} rules={[{ max: 128 }]}>
          <Input />
        </Form.Item>
      </Form>
      <ErrorAlert error={error} id="app-import-error" />
    </Modal>
  );
}
