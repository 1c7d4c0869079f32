import { Alert, App as AntApp, Button, Descriptions, Drawer, Empty, List, Progress, Space, Spin, Table, Tag, Typography } from 'antd';
import { useCallback, useEffect, useRef, useState, type HTMLAttributes } from 'react';
import { api, errorMessage } from '../../api';
import { useI18n, type MessageKey } from '../../i18n';
import { CountsTable, formatDuration, formatTime, runDuration, RunStateTag } from './format';
import { downloadPlan } from './plan';
import { fetchRun, isActive, RUN_POLL_MS, SYNC_API, type RunView } from './types';

type ObjectError = RunView['errors'][number];

/**
 * One run: state, trigger, timings, live progress (read again every
 * RUN_POLL_MS while it is active), counts, warnings, per-object errors, the
 * plan download, and — when the safety brake held it — what it would do and
 * the Confirm / Cancel buttons. `onChanged` is called when the run changes
 * state, so the lists can refresh.
 */
export function RunDrawer({ runId, sourceName, onClose, onChanged }: { runId: number; sourceName(id: string): string; onClose(): void; onChanged(): void }) {
  const { t, lang } = useI18n();
  const { message, modal } = AntApp.useApp();
  const [run, setRun] = useState<RunView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<'confirm' | 'cancel' | 'plan' | null>(null);
  const live = useRef(true);
  const lastState = useRef<string | null>(null);

  const load = useCallback(async () => {
    try {
      const r = await fetchRun(runId);
      if (!live.current) return;
      setRun(r);
      setError(null);
      if (lastState.current !== null && lastState.current !== r.state) onChanged();
      lastState.current = r.state;
    } catch (err) {
      if (live.current) setError(errorMessage(err));
    }
  }, [runId, onChanged]);

  useEffect(() => {
    live.current = true;
    void load();
    return () => {
      live.current = false;
    };
  }, [load]);

  const active = run !== null && isActive(run.state);
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => void load(), RUN_POLL_MS);
    return () => clearInterval(timer);
  }, [active, load]);

  const act = async (what: 'confirm' | 'cancel') => {
    setBusy(what);
    try {
      const r = await api<RunView>('POST', `${SYNC_API}/runs/${runId}/${what}`);
      setRun(r);
      lastState.current = r.state;
      onChanged();
      void message.success(what === 'confirm' ? t('sync.run.confirmed') : t('sync.run.cancelled'));
    } catch (err) {
      void message.error(errorMessage(err));
      void load();
    } finally {
      setBusy(null);
    }
  };
  const askCancel = () => {
    modal.confirm({
      title: t('sync.run.cancelTitle'),
      content: run?.state === 'applying' ? t('sync.run.cancelApplying') : t('sync.run.cancelBody'),
      okText: t('sync.run.cancelOk'),
      okButtonProps: { danger: true, id: 'sync-run-cancel-ok' },
      cancelText: t('sync.run.keep'),
      onOk: () => act('cancel'),
    });
  };
  const plan = async () => {
    setBusy('plan');
    try {
      const name = await downloadPlan(runId);
      void message.success(t('sync.run.planSaved', { name }));
    } catch (err) {
      void message.error(errorMessage(err));
    } finally {
      setBusy(null);
    }
  };

  const held = run?.state === 'needs_confirmation';
  const cancellable = run !== null && (active || held);
  const progress = run?.progress ?? null;
  const percent = progress?.total ? Math.min(100, Math.round((progress.done / progress.total) * 100)) : null;

  return (
    <Drawer
      open
      width={820}
      rootClassName="sync-run-drawer"
      title={run ? t('sync.run.title', { id: run.id, source: sourceName(run.sourceId) }) : t('sync.run.titleId', { id: runId })}
      onClose={onClose}
      extra={
        <Space>
          {run?.hasPlan && (
            <Button id="sync-run-plan" loading={busy === 'plan'} onClick={() => void plan()}>
              {t('sync.run.plan')}
            </Button>
          )}
          {cancellable && !held && (
            <Button id="sync-run-cancel" danger loading={busy === 'cancel'} onClick={askCancel}>
              {t('sync.run.cancel')}
            </Button>
          )}
        </Space>
      }
    >
      <div id="sync-run-detail" data-run={String(runId)} data-state={run?.state ?? ''}>
        {error && <Alert type="error" showIcon message={error} style={{ marginBottom: 12 }} />}
        {!run && !error && <Spin />}
        {run && (
          <Space direction="vertical" size="middle" style={{ width: '100%' }}>
            {held && run.brake && (
              <Alert
                id="sync-run-brake"
                type="warning"
                showIcon
                message={<Typography.Text strong>{t('sync.brake.title')}</Typography.Text>}
                description={
                  <Space direction="vertical" style={{ width: '100%' }}>
                    <span id="sync-run-brake-text">
                      {t('sync.brake.text', { affected: run.brake.affected, percent: formatPercent(run.brake.percent), limit: run.brake.limit })}
                    </span>
                    <Typography.Text type="secondary">{t('sync.brake.hint', { owned: run.brake.ownedUsers })}</Typography.Text>
                    <Space>
                      <Button id="sync-run-confirm" type="primary" danger loading={busy === 'confirm'} disabled={busy !== null} onClick={() => void act('confirm')}>
                        {t('sync.brake.confirm')}
                      </Button>
                      <Button id="sync-run-reject" loading={busy === 'cancel'} disabled={busy !== null} onClick={() => void act('cancel')}>
                        {t('sync.brake.cancel')}
                      </Button>
                    </Space>
                  </Space>
                }
              />
            )}
            {run.state === 'failed' && run.error && <Alert id="sync-run-error" type="error" showIcon message={t('sync.run.failed')} description={run.error} />}
            {active && (
              <div id="sync-run-progress" data-phase={progress?.phase ?? ''}>
                <Typography.Text>
                  {t(`sync.state.${run.state}` as MessageKey)}
                  {progress ? ` · ${progress.phase} ${progress.done}${progress.total ? ` / ${progress.total}` : ''}` : ''}
                </Typography.Text>
                <Progress percent={percent ?? 100} status="active" showInfo={percent !== null} />
              </div>
            )}
            <Descriptions size="small" bordered column={2}>
              <Descriptions.Item label={t('sync.runs.state')}>
                <RunStateTag state={run.state} />
                {run.dryRun && <Tag data-testid="sync-run-dry">{t('sync.runs.dry')}</Tag>}
              </Descriptions.Item>
              <Descriptions.Item label={t('sync.runs.trigger')}>{t(`sync.trigger.${run.trigger}` as MessageKey)}</Descriptions.Item>
              <Descriptions.Item label={t('sync.runs.startedAt')}>{formatTime(run.startedAt, lang)}</Descriptions.Item>
              <Descriptions.Item label={t('sync.runs.finishedAt')}>{formatTime(run.finishedAt, lang)}</Descriptions.Item>
              <Descriptions.Item label={t('sync.run.requestedBy')}>{run.requestedBy ?? '—'}</Descriptions.Item>
              <Descriptions.Item label={t('sync.run.confirmedBy')}>{run.confirmedBy ?? '—'}</Descriptions.Item>
              <Descriptions.Item label={t('sync.run.readKind')}>{run.readKind ? t(`sync.read.${run.readKind}` as MessageKey) : '—'}</Descriptions.Item>
              <Descriptions.Item label={t('sync.runs.duration')}>
                <span id="sync-run-duration">{formatDuration(runDuration(run))}</span>
                {run.timings && (
                  <Typography.Text type="secondary" style={{ marginLeft: 8 }}>
                    {t('sync.run.timings', { read: formatDuration(run.timings.readMs), plan: formatDuration(run.timings.planMs), apply: formatDuration(run.timings.applyMs) })}
                  </Typography.Text>
                )}
              </Descriptions.Item>
            </Descriptions>
            <div>
              <Typography.Title level={5}>{run.state === 'applied' ? t('sync.run.countsApplied') : t('sync.run.countsPlanned')}</Typography.Title>
              {run.counts ? <CountsTable counts={run.counts} /> : <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('sync.run.noCounts')} />}
            </div>
            {run.warnings.length > 0 && (
              <List
                id="sync-run-warnings"
                size="small"
                bordered
                header={<Typography.Text strong>{t('sync.run.warnings', { n: run.warnings.length })}</Typography.Text>}
                dataSource={run.warnings}
                renderItem={(w) => <List.Item>{w}</List.Item>}
              />
            )}
            <div>
              <Typography.Title level={5}>{t('sync.run.errors', { n: run.errorCount })}</Typography.Title>
              {run.errorCount > run.errors.length && <Typography.Text type="secondary">{t('sync.run.errorsFirst', { shown: run.errors.length, total: run.errorCount })}</Typography.Text>}
              <Table<ObjectError>
                id="sync-run-errors"
                size="small"
                rowKey={(e, i) => `${e.kind}-${e.externalId}-${i ?? 0}`}
                dataSource={run.errors}
                pagination={run.errors.length > 20 ? { pageSize: 20, showSizeChanger: false } : false}
                locale={{ emptyText: t('sync.run.noErrors') }}
                onRow={(e) => ({ 'data-testid': 'sync-run-error', 'data-external-id': e.externalId }) as HTMLAttributes<HTMLElement>}
                columns={[
                  { title: t('sync.run.errKind'), key: 'kind', width: 80, render: (_v, e) => t(`sync.kind.${e.kind === 'dept' ? 'depts' : e.kind === 'user' ? 'users' : 'groups'}` as MessageKey) },
                  { title: t('sync.run.errOp'), key: 'op', width: 80, render: (_v, e) => (isOp(e.op) ? t(`sync.op.${e.op}` as MessageKey) : e.op) },
                  { title: t('sync.run.errLabel'), key: 'label', render: (_v, e) => `${e.label}${e.externalId && e.externalId !== e.label ? ` (${e.externalId})` : ''}` },
                  { title: t('sync.run.errMessage'), dataIndex: 'message', key: 'message' },
                ]}
              />
            </div>
          </Space>
        )}
      </div>
    </Drawer>
  );
}

const OP_SET = new Set(['create', 'update', 'move', 'disable', 'enable', 'delete', 'adopt', 'conflict']);
const isOp = (op: string): boolean => OP_SET.has(op);

/** 15 → "15", 12.345 → "12.3". */
export const formatPercent = (p: number): string => (Number.isInteger(p) ? String(p) : p.toFixed(1));
