import { Alert, Button, Card, Form, Input, Space } from 'antd';
import { useState, type ReactNode } from 'react';
import type { MeView } from '../../../gateway/src/admin/api-types';
import { errorMessage, login } from '../api';
import { useI18n } from '../i18n';

export function LoginPage({ onLoggedIn, extra }: { onLoggedIn(me: MeView): void; extra?: ReactNode }) {
  const { t } = useI18n();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (values: { username: string; password: string }) => {
    setBusy(true);
    setError(null);
    try {
      onLoggedIn(await login(values.username, values.password));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div style={{ maxWidth: 380, margin: '120px auto' }}>
      <Card title={t('login.title')} extra={extra}>
        <Space direction="vertical" style={{ width: '100%' }}>
          {error && <Alert type="error" showIcon message={error} />}
          <Form name="login" layout="vertical" onFinish={(v: { username: string; password: string }) => void submit(v)} requiredMark={false}>
            <Form.Item name="username" label={t('login.username')} rules={[{ required: true, message: t('login.required') }]}>
              <Input autoComplete="username" autoFocus />
            </Form.Item>
            <Form.Item name="password" label={t('login.password')} rules={[{ required: true, message: t('login.required') }]}>
              <Input.Password autoComplete="current-password" />
            </Form.Item>
            <Button id="login-submit" type="primary" htmlType="submit" block loading={busy}>
              {t('login.submit')}
            </Button>
          </Form>
        </Space>
      </Card>
    </div>
  );
}
