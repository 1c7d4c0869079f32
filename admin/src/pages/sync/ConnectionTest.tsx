import { Alert, Button, Modal, Spin, Table, Tag, Typography } from 'antd';
import { useCallback, useEffect, useRef, useState, type HTMLAttributes } from 'react';
import { api, errorMessage } from '../../api';
import { useI18n, type MessageKey } from '../../i18n';
import { formatDuration } from './format';
import { SYNC_API, type CheckStep, type ConnectionCheck, type SourceView } from './types';

const KNOWN_STEPS = ['dns', 'tcp', 'tls', 'bind', 'base', 'filter', 'read', 'folder', 'file', 'workbook', 'rows', 'adapter', 'directory'];

/**
 * "Test connection" of a saved source (POST /sources/:id/test): each step
 * the kind reports (DNS, TCP, TLS, bind, base DN, filter… for LDAP) with
 * ✓ or ✗, its message and how long it took. Runs when opened.
 */
export function ConnectionTest({ source, onClose }: { source: SourceView; onClose(): void }) {
  const { t, lang } = useI18n();
  const [result, setResult] = useState<ConnectionCheck | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const live = useRef(true);

  const run = useCallback(async () => {
    setRunning(true);
    setError(null);
    setResult(null);
    try {
      const r = await api<ConnectionCheck>('POST', `${SYNC_API}/sources/${encodeURIComponent(source.id)}/test`);
      if (live.current) setResult(r);
    } catch (err) {
      if (live.current) setError(errorMessage(err));
    } finally {
      if (live.current) setRunning(false);
    }
  }, [source.id]);

  useEffect(() => {
    live.current = true;
    void run();
    return () => {
      live.current = false;
    };
  }, [run]);

  const steps = (result?.steps ?? []) as CheckStep[];
  return (
    <Modal
      open
      width={720}
      title={t('sync.test.title', { name: source.name })}
      onCancel={onClose}
      footer={[
        <Button key="again" id="sync-test-again" disabled={running} onClick={() => void run()}>
          {t('sync.test.again')}
        </Button>,
        <Button key="close" id="sync-test-close" type="primary" onClick={onClose}>
          {t('sync.close')}
        </Button>,
      ]}
    >
      <div id="sync-test-result" data-state={running ? 'running' : result ? (result.ok ? 'ok' : 'failed') : error ? 'error' : 'idle'}>
        {running && (
          <Spin tip={t('sync.test.running')}>
            <div style={{ height: 60 }} />
          </Spin>
        )}
        {error && <Alert type="error" showIcon message={t('sync.test.failed')} description={error} />}
        {result && (
          <>
            <Alert
              id="sync-test-summary"
              type={result.ok ? 'success' : 'error'}
              showIcon
              message={result.ok ? t('sync.test.ok') : t('sync.test.notOk')}
              style={{ marginBottom: 12 }}
            />
            <Table<CheckStep>
              id="sync-test-steps"
              size="small"
              pagination={false}
              rowKey={(s, i) => `${s.step}-${i ?? 0}`}
              dataSource={steps}
              onRow={(s) => ({ 'data-testid': 'sync-test-step', 'data-step': s.step, 'data-ok': String(s.ok) }) as HTMLAttributes<HTMLElement>}
              columns={[
                {
                  title: '',
                  key: 'ok',
                  width: 40,
                  render: (_v, s) => (
                    <Tag color={s.ok ? 'green' : 'red'} data-testid="sync-test-mark">
                      {s.ok ? '✓' : '✗'}
                    </Tag>
                  ),
                },
                { title: t('sync.test.step'), key: 'step', width: 110, render: (_v, s) => (KNOWN_STEPS.includes(s.step) ? t(`sync.step.${s.step}` as MessageKey) : s.step) },
                {
                  title: t('sync.test.message'),
                  key: 'message',
                  render: (_v, s) => <Typography.Text type={s.ok ? undefined : 'danger'}>{lang === 'zh' && s.messageZh ? s.messageZh : s.message}</Typography.Text>,
                },
                { title: t('sync.test.ms'), key: 'ms', width: 90, render: (_v, s) => formatDuration(s.ms) },
              ]}
            />
          </>
        )}
      </div>
    </Modal>
  );
}
