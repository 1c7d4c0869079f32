import { Alert, Button, Card, Descriptions, Form, Input, Space, Steps, Table, Tag } from 'antd';
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import type { LoginView, MeView } from '../../../gateway/src/admin/api-types';
import type { ListenerStatusView, SystemStatusView } from '../../../gateway/src/admin/api-types-system';
import { api, errorMessage, rememberSession } from '../api';
import { useI18n } from '../i18n';
import { LicenceSummary } from './Licence';

interface AdminForm {
  username: string;
  password: string;
  confirm: string;
  displayName?: string;
  setupCode?: string;
}

/** First run: listeners (live), the first administrator, the licence state. */
export function SetupWizard({ onDone, extra }: { onDone(me: MeView): void; extra?: ReactNode }) {
  const { t } = useI18n();
  const [step, setStep] = useState(0);
  const [status, setStatus] = useState<SystemStatusView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [me, setMe] = useState<MeView | null>(null);
  // asked from another machine: the one-time code only someone on the appliance can read
  const [codeRequired, setCodeRequired] = useState(false);

  useEffect(() => {
    api<{ needsSetup: boolean; setupCodeRequired?: boolean }>('GET', '/setup').then(
      (s) => setCodeRequired(s.setupCodeRequired === true),
      () => undefined,
    );
  }, []);

  const loadStatus = useCallback(async () => {
    try {
      setStatus(await api<SystemStatusView>('GET', '/status'));
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    }
  }, []);

  // live: refresh every 3 s while the status step is shown
  useEffect(() => {
    if (step !== 0 && step !== 2) return;
    void loadStatus();
    if (step !== 0) return;
    const timer = window.setInterval(() => void loadStatus(), 3000);
    return () => window.clearInterval(timer);
  }, [step, loadStatus]);

  const createAdmin = async (v: AdminForm) => {
    setBusy(true);
    setError(null);
    try {
      const view = await api<LoginView>('POST', '/setup/admin', {
        body: { username: v.username, password: v.password, ...(v.displayName ? { displayName: v.displayName } : {}), ...(v.setupCode ? { setupCode: v.setupCode } : {}) },
      });
      rememberSession(view);
      setMe(view);
      setStep(2);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div style={{ maxWidth: 760, margin: '60px auto' }}>
      <Card title={t('setup.title')} extra={extra}>
        <Space direction="vertical" size="large" style={{ width: '100%' }}>
          <Steps current={step} items={[{ title: t('setup.step.status') }, { title: t('setup.step.admin') }, { title: t('setup.step.licence') }]} />
          {error && <Alert type="error" showIcon message={error} closable onClose={() => setError(null)} />}

          {step === 0 && (
            <>
              <Alert type="warning" showIcon message={t('setup.warning')} />
              <Table<ListenerStatusView>
                rowKey="name"
                size="small"
                pagination={false}
                loading={!status && !error}
                dataSource={status?.listeners ?? []}
                columns={[
                  { title: t('setup.listener'), dataIndex: 'name' },
                  { title: t('setup.port'), dataIndex: 'port', render: (p: number | null) => p ?? '—' },
                  {
                    title: t('org.status'),
                    dataIndex: 'up',
                    render: (up: boolean) => <Tag color={up ? 'green' : 'red'}>{up ? t('setup.up') : t('setup.down')}</Tag>,
                  },
                ]}
              />
              {status && (
                <Descriptions size="small" column={2} bordered>
                  <Descriptions.Item label={t('setup.version')}>{status.version}</Descriptions.Item>
                  <Descriptions.Item label={t('setup.database')}>
                    <Tag color={status.database.up ? 'green' : 'red'}>{status.database.up ? t('setup.up') : t('setup.down')}</Tag>
                    {status.database.latencyMs !== null && `${status.database.latencyMs} ms`}
                  </Descriptions.Item>
                </Descriptions>
              )}
              <Space>
                <Button onClick={() => void loadStatus()}>{t('setup.refresh')}</Button>
                <Button type="primary" onClick={() => setStep(1)}>
                  {t('setup.next')}
                </Button>
              </Space>
            </>
          )}

          {step === 1 && (
            <Form<AdminForm> layout="vertical" onFinish={(v) => void createAdmin(v)} style={{ maxWidth: 420 }}>
              {codeRequired && (
                <Form.Item name="setupCode" label={t('setup.code')} extra={t('setup.codeHelp')} rules={[{ required: true, message: t('setup.codeHelp') }]}>
                  <Input autoComplete="off" spellCheck={false} maxLength={32} />
                </Form.Item>
              )}
              <Form.Item
                name="username"
                label={t('login.username')}
                extra={t('setup.usernameRule')}
                rules={[{ required: true, pattern: /^[A-Za-z0-9._-]{3,32}$/, message: t('setup.usernameRule') }]}
              >
                <Input autoComplete="username" />
              </Form.Item>
              <Form.Item name="displayName" label={t('setup.displayName')} rules={[{ max: 64 }]}>
                <Input />
              </Form.Item>
              <Form.Item name="password" label={t('login.password')} extra={t('setup.passwordRule')} rules={[{ required: true, min: 8, max: 256, message: t('setup.passwordRule') }]}>
                <Input.Password autoComplete="new-password" />
              </Form.Item>
              <Form.Item
                name="confirm"
                label={t('setup.confirm')}
                dependencies={['password']}
                rules={[
                  { required: true, message: t('setup.mismatch') },
                  ({ getFieldValue }) => ({
                    validator: (_rule, value) => (value === getFieldValue('password') ? Promise.resolve() : Promise.reject(new Error(t('setup.mismatch')))),
                  }),
                ]}
              >
                <Input.Password autoComplete="new-password" />
              </Form.Item>
              <Space>
                <Button onClick={() => setStep(0)}>{t('setup.prev')}</Button>
                <Button type="primary" htmlType="submit" loading={busy}>
                  {t('setup.create')}
                </Button>
              </Space>
            </Form>
          )}

          {step === 2 && (
            <>
              <Alert type="success" showIcon message={t('setup.created')} />
              {status?.licence ? <LicenceSummary licence={status.licence} /> : <Alert type="warning" message={t('licence.none')} />}
              <Button type="primary" disabled={!me} onClick={() => me && onDone(me)}>
                {t('setup.finish')}
              </Button>
            </>
          )}
        </Space>
      </Card>
    </div>
  );
}
