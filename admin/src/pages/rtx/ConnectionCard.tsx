import { Alert, Button, Card, Descriptions, Space, Tag, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { api, errorMessage } from '../../api';
import { useI18n, type MessageKey } from '../../i18n';
import { fetchPluginListener, type PluginListener, type RtxStatus } from './types';

/** How often the link state is read while the page is visible. */
export const STATUS_POLL_MS = 3000;
const DOCS_PATH = 'docs/rtx-adapter.md';
const STATE_COLOR: Record<RtxStatus['state'], string> = { DISABLED: 'default', WAITING: 'gold', CONNECTED: 'green' };

export function formatTime(ms: number | null | undefined, lang: 'zh' | 'en'): string {
  if (!ms) return '—';
  return new Date(ms).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false });
}

/** Calls fn now and every `ms` while the document is visible (and once more when it becomes visible). */
export function useVisibleInterval(fn: () => void, ms: number): void {
  useEffect(() => {
    let timer: ReturnType<typeof setInterval> | null = null;
    const start = () => {
      if (timer === null) timer = setInterval(fn, ms);
    };
    const stop = () => {
      if (timer !== null) clearInterval(timer);
      timer = null;
    };
    const onVisibility = () => {
      if (document.visibilityState === 'visible') {
        fn();
        start();
      } else stop();
    };
    fn();
    if (document.visibilityState === 'visible') start();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      stop();
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [fn, ms]);
}

/** The plugin channel's link: state, adapter, lag; where it listens; how to install the adapter. */
export function ConnectionCard() {
  const { t, lang } = useI18n();
  const [status, setStatus] = useState<RtxStatus | null>(null);
  const [listener, setListener] = useState<PluginListener | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(() => {
    api<RtxStatus>('GET', '/rtx/status').then(
      (s) => {
        setStatus(s);
        setError(null);
      },
      (err: unknown) => setError(errorMessage(err)),
    );
  }, []);
  useVisibleInterval(refresh, STATUS_POLL_MS);

  useEffect(() => {
    fetchPluginListener().then(setListener, () => setListener(null));
  }, []);

  const host = window.location.hostname || 'GATEWAY';
  const port = listener?.port ?? 7014;
  const command = `huitong-rtx-adapter --gateway ${host}:${port}${listener?.tls === false ? ' --plaintext' : ''}`;
  const connected = status?.state === 'CONNECTED';
  const a = status?.adapter ?? null;

  return (
    <Card
      id="rtx-connection"
      title={t('rtx.conn.title')}
      extra={
        <Button size="small" id="rtx-status-refresh" onClick={refresh}>
          {t('rtx.conn.refresh')}
        </Button>
      }
    >
      <Space direction="vertical" size="middle" style={{ width: '100%' }}>
        {error && <Alert type="error" showIcon message={error} />}
        <Descriptions size="small" column={2} bordered>
          <Descriptions.Item label={t('rtx.conn.state')} span={2}>
            {status ? (
              <Tag id="rtx-state" data-state={status.state} color={STATE_COLOR[status.state]}>
                {t(`rtx.state.${status.state}` as MessageKey)}
              </Tag>
            ) : (
              <Typography.Text type="secondary">{t('loading')}</Typography.Text>
            )}
          </Descriptions.Item>
          <Descriptions.Item label={connected ? t('rtx.conn.adapter') : t('rtx.conn.lastAdapter')}>
            <span id="rtx-adapter-name">{a ? `${a.name || a.id}${a.software ? ` (${a.software})` : ''}` : '—'}</span>
          </Descriptions.Item>
          <Descriptions.Item label={t('rtx.conn.address')}>{a?.address ?? '—'}</Descriptions.Item>
          <Descriptions.Item label={t('rtx.conn.since')}>
            <span id="rtx-connected-at">{connected ? formatTime(a?.connectedAt, lang) : '—'}</span>
          </Descriptions.Item>
          <Descriptions.Item label={t('rtx.conn.lastSeen')}>{status?.lastSeenAt ? formatTime(status.lastSeenAt, lang) : t('rtx.conn.never')}</Descriptions.Item>
          <Descriptions.Item label={t('rtx.conn.backlog')}>
            <span id="rtx-backlog">{status ? t('rtx.conn.backlogValue', { n: status.outbound.backlog }) : '—'}</span>
          </Descriptions.Item>
          <Descriptions.Item label={t('rtx.conn.pending')}>{status ? t('rtx.conn.backlogValue', { n: status.inbound.pending }) : '—'}</Descriptions.Item>
          <Descriptions.Item label={t('rtx.conn.listen')}>
            <span id="rtx-listen-port">{listener === undefined ? t('loading') : listener?.port ? String(listener.port) : t('rtx.conn.notListening')}</span>
          </Descriptions.Item>
          <Descriptions.Item label={t('rtx.conn.tls')}>
            <span id="rtx-listen-tls">{listener?.tls === true ? t('rtx.conn.tlsOn') : listener?.tls === false ? t('rtx.conn.tlsOff') : t('rtx.conn.unknown')}</span>
          </Descriptions.Item>
        </Descriptions>
        {status && status.state !== 'CONNECTED' && <Alert type={status.state === 'DISABLED' ? 'warning' : 'info'} showIcon message={t(`rtx.state.${status.state}.hint` as MessageKey)} />}
        <div id="rtx-install">
          <Typography.Title level={5}>{t('rtx.install.title')}</Typography.Title>
          <ol style={{ paddingInlineStart: 20, marginBottom: 8 }}>
            <li>{t('rtx.install.step1')}</li>
            <li>{t('rtx.install.step2')}</li>
            <li>
              <InstallCommand text={t('rtx.install.step3', { command: '\u0000' })} command={command} />
            </li>
            <li>{t('rtx.install.step4')}</li>
          </ol>
          <Typography.Text type="secondary">
            {t('rtx.install.docs', { path: '\u0000' })
              .split('\u0000')
              .flatMap((part, i) => (i === 0 ? [part] : [<Typography.Text key="docs" code>{DOCS_PATH}</Typography.Text>, part]))}
          </Typography.Text>
        </div>
      </Space>
    </Card>
  );
}

/** A sentence with the start command set in code style where the message has its placeholder. */
function InstallCommand({ text, command }: { text: string; command: string }) {
  const [before, after] = text.split('\u0000');
  return (
    <>
      {before}
      <Typography.Text code copyable={{ text: command }} id="rtx-install-command">
        {command}
      </Typography.Text>
      {after}
    </>
  );
}
