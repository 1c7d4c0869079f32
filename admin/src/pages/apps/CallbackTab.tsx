import { Alert, App, Button, Descriptions, Form, Input, Select, Space, Table, Tag, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import type { CallbackSettingsView, DeliveryDetailView, DeliveryPageView, DeliveryState, DeliveryView, TestSendView } from '../../../../gateway/src/apps/callbacks-types';
import { api, errorMessage } from '../../api';
import { useI18n, type MessageKey } from '../../i18n';

const PAGE = 20;
/** While a listed delivery is pending, the log reloads itself this often, so its outcome shows without a click. */
const PENDING_RELOAD_MS = 2000;
const STATE_COLORS: Record<DeliveryState, string> = { pending: 'orange', delivered: 'green', failed: 'red' };
const when = (ms: number | null) => (ms ? new Date(ms).toLocaleString() : '—');

/** The attempts of one delivery, read when its row is expanded. */
function Attempts({ appId, id }: { appId: number; id: number }) {
  const { t } = useI18n();
  const [d, setD] = useState<DeliveryDetailView | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<DeliveryDetailView>('GET', `/apps/${appId}/callback/deliveries/${id}`).then(setD, (err: unknown) => setError(errorMessage(err)));
  }, [appId, id]);
  if (error) return <Alert type="error" showIcon message={error} />;
  if (!d) return null;
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Typography.Text strong>{t('appRules.cbAttemptLog')}</Typography.Text>
      <Table
        rowKey={(a) => `${a.at}-${a.outcome}`} size="small" pagination={false} dataSource={d.attemptLog}
        columns={[
          { title: t('appRules.cbCreated'), dataIndex: 'at', render: (v: number) => when(v) },
          { title: 'HTTP', dataIndex: 'httpStatus', render: (v: number | null) => v ?? '—' },
          { title: t('appRules.cbState'), dataIndex: 'outcome', render: (v: string) => <Tag color={v === 'acked' ? 'green' : 'red'}>{v}</Tag> },
          { title: 'ms', dataIndex: 'durationMs' },
          { title: t('appRules.cbError'), dataIndex: 'detail', render: (v: string | null) => v ?? '' },
        ]}
      />
      <Typography.Paragraph><pre style={{ whiteSpace: 'pre-wrap', margin: 0 }}>{JSON.stringify(d.payload, null, 2)}</pre></Typography.Paragraph>
    </Space>
  );
}

/** The app's callback (URL, Token, test send) and its delivery log with replay (/apps/:id/callback…). */
export function CallbackTab({ appId }: { appId: number }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<{ url: string; token: string }>();
  const [settings, setSettings] = useState<CallbackSettingsView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [test, setTest] = useState<TestSendView | null>(null);
  const [state, setState] = useState<DeliveryState | ''>('');
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<DeliveryPageView | null>(null);

  const loadSettings = useCallback(() => {
    api<CallbackSettingsView>('GET', `/apps/${appId}/callback`).then((s) => {
      setSettings(s);
      form.setFieldsValue({ url: s.url ?? '', token: '' });
    }, (err: unknown) => setError(t('appRules.loadFailed', { msg: errorMessage(err) })));
  }, [appId, form, t]);
  const loadLog = useCallback(() => {
    api<DeliveryPageView>('GET', `/apps/${appId}/callback/deliveries`, { query: { state, offset, limit: PAGE } }).then(setPage, (err: unknown) => setError(errorMessage(err)));
  }, [appId, state, offset]);
  useEffect(loadSettings, [loadSettings]);
  useEffect(loadLog, [loadLog]);
  useEffect(() => {
    if (!page?.items.some((d) => d.state === 'pending')) return;
    const timer = setTimeout(loadLog, PENDING_RELOAD_MS);
    return () => clearTimeout(timer);
  }, [page, loadLog]);

  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const save = () => run(async () => {
    const v = await form.validateFields();
    const s = await api<CallbackSettingsView>('PUT', `/apps/${appId}/callback`, { body: { url: v.url.trim() || null, ...(v.token ? { token: v.token } : {}) } });
    setSettings(s);
    form.setFieldsValue({ url: s.url ?? '', token: '' });
    void message.success(t('appRules.saved'));
  });
  const sendTest = () => run(async () => setTest(await api<TestSendView>('POST', `/apps/${appId}/callback/test`, { body: {} })));
  const replay = (d: DeliveryView) => run(async () => {
    await api('POST', `/apps/${appId}/callback/deliveries/${d.id}/replay`, { body: {} });
    void message.success(t('appRules.cbReplayed'));
    loadLog();
  });

  return (
    <Space direction="vertical" style={{ width: '100%' }} data-testid="callback-tab">
      <Typography.Paragraph type="secondary">{t('appRules.cbIntro', { s: Math.round((settings?.timeoutMs ?? 5000) / 1000) })}</Typography.Paragraph>
      {error && <Alert type="error" showIcon message={error} data-testid="callback-error" />}
      <Form form={form} layout="vertical" name="app_callback" onFinish={() => void save()} style={{ maxWidth: 640 }}>
        <Form.Item name="url" label={t('appRules.cbUrl')} rules={[{ type: 'url', message: t('appRules.cbUrl') }]}>
          <Input placeholder="http://oa.intranet/youdu/callback" maxLength={2048} />
        </Form.Item>
        <Form.Item name="token" label={t('appRules.cbToken')}>
          <Input.Password placeholder={settings?.hasToken ? t('appRules.cbTokenKeep') : ''} maxLength={128} autoComplete="new-password" />
        </Form.Item>
        <Space>
          <Button type="primary" htmlType="submit" loading={busy} data-testid="callback-save">{t('appRules.save')}</Button>
          <Button onClick={() => void sendTest()} disabled={!settings?.ready} loading={busy} data-testid="callback-test">{t('appRules.cbTest')}</Button>
          {settings && <Tag color={settings.ready ? 'green' : 'default'}>{t(settings.ready ? 'appRules.cbReady' : 'appRules.cbNotReady')}</Tag>}
        </Space>
      </Form>
      {test && (
        <Alert
          type={test.ok ? 'success' : 'warning'} showIcon data-testid="callback-test-result"
          message={test.ok ? t('appRules.cbTestOk', { ms: test.durationMs }) : t('appRules.cbTestFail', { outcome: test.outcome, detail: test.detail ?? '' })}
        />
      )}
      <Descriptions size="small" title={t('appRules.cbLog')} />
      <Space>
        <Select<DeliveryState | ''>
          value={state} style={{ width: 160 }} onChange={(v) => { setState(v); setOffset(0); }}
          options={(['', 'pending', 'delivered', 'failed'] as const).map((s) => ({ value: s, label: t(`appRules.cbState.${s || 'all'}` as MessageKey) }))}
        />
        <Button onClick={loadLog}>{t('appRules.refresh')}</Button>
      </Space>
      <Table<DeliveryView>
        rowKey="id" size="small" dataSource={page?.items ?? []} loading={page === null && !error} locale={{ emptyText: t('appRules.cbLogEmpty') }}
        pagination={{ current: Math.floor(offset / PAGE) + 1, pageSize: PAGE, total: page?.total ?? 0, onChange: (p) => setOffset((p - 1) * PAGE), showSizeChanger: false }}
        expandable={{ expandedRowRender: (d) => <Attempts appId={appId} id={d.id} /> }}
        columns={[
          { title: '#', dataIndex: 'id', render: (id: number, d) => (d.replayOf ? <span>{id} <Typography.Text type="secondary">({t('appRules.cbReplayOf', { id: d.replayOf })})</Typography.Text></span> : id) },
          { title: t('appRules.cbCreated'), dataIndex: 'createdAt', render: (v: number) => when(v) },
          { title: t('appRules.cbType'), dataIndex: 'msgType' },
          { title: t('appRules.cbFrom'), dataIndex: 'fromUser' },
          { title: t('appRules.cbState'), dataIndex: 'state', render: (s: DeliveryState) => <Tag color={STATE_COLORS[s]}>{t(`appRules.cbState.${s}` as MessageKey)}</Tag> },
          { title: t('appRules.cbAttempts'), dataIndex: 'attempts' },
          { title: t('appRules.cbNext'), render: (_: unknown, d) => (d.state === 'pending' ? when(d.nextAt) : '—') },
          { title: t('appRules.cbError'), dataIndex: 'lastError', render: (v: string | null) => <Typography.Text ellipsis style={{ maxWidth: 240 }}>{v ?? ''}</Typography.Text> },
          { title: t('appRules.actions'), render: (_: unknown, d) => (d.state === 'pending' ? null : <Button size="small" onClick={() => void replay(d)} disabled={busy}>{t('appRules.cbReplay')}</Button>) },
        ]}
      />
    </Space>
  );
}
