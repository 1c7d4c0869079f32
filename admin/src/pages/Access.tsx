import { Alert, App, Card, Col, Row, Space, Tabs } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import type { MeView } from '../../../gateway/src/admin/api-types';
import type { MemberView } from '../../../gateway/src/admin/api-types-org';
import { api } from '../api';
import { useI18n, type MessageKey, type Translate } from '../i18n';
import { AddBlocked } from './access/AddBlocked';
import { AutoAuthorise } from './access/AutoAuthorise';
import { runBatch, type AccessAction, type BatchResult } from './access/batch';
import { MemberList, type ListKind } from './access/MemberList';
import { SeatUsage } from './access/SeatUsage';

type UserId = MemberView['id'];

const who = (m: MemberView) => `${m.name}（${m.account}）`;

/** What a finished run tells the administrator: how many, and each member that failed. */
function BatchReport({ result, onClose }: { result: BatchResult; onClose(): void }) {
  const { t } = useI18n();
  const action = t(`access.act.${result.action}` as MessageKey);
  const { stopped } = result;
  let title: string;
  if (stopped) {
    const expired = stopped.code === 'GW_LICENCE_EXPIRED';
    const key: MessageKey =
      result.total === 1 ? (expired ? 'access.result.licenceExpiredOne' : 'access.result.seatsFullOne') : expired ? 'access.result.licenceExpired' : 'access.result.seatsFull';
    title = t(key, { done: result.done.length, at: stopped.position, who: who(stopped.member), rest: result.total - stopped.position });
  } else if (result.failed.length > 0) {
    title = t('access.result.partial', { action, ok: result.done.length, failed: result.failed.length });
  } else {
    title = t('access.result.ok', { action, n: result.done.length });
  }
  const type = stopped ? 'error' : result.failed.length > 0 ? 'warning' : 'success';
  return (
    <Alert
      type={type}
      showIcon
      closable
      onClose={onClose}
      data-testid="access-result"
      data-result={type}
      message={title}
      description={
        result.failed.length > 0 ? (
          <ul style={{ margin: 0, paddingInlineStart: 20 }} data-testid="access-result-failures">
            {result.failed.map((f) => (
              <li key={f.member.id}>{t('access.result.failedAt', { who: who(f.member), message: f.message })}</li>
            ))}
          </ul>
        ) : undefined
      }
    />
  );
}

function confirmText(t: Translate, action: AccessAction, members: MemberView[]): { title: string; content: string } | null {
  if (action !== 'deauthorise' && action !== 'block') return null;
  const target = members.length === 1 ? who(members[0] as MemberView) : t('access.who.many', { n: members.length });
  return { title: t(`access.confirm.${action}.title`, { who: target }), content: t(`access.confirm.${action}.body`) };
}

/**
 * The authorised and blocked lists (F-3.5): seats, the auto-authorise switch,
 * and the three lists with row and batch actions, each run member by member.
 */
export default function AccessPage() {
  const { t } = useI18n();
  const { modal } = App.useApp();
  const [me, setMe] = useState<MeView | null>(null);
  const [version, setVersion] = useState(0);
  const [tab, setTab] = useState<ListKind>('authorised');
  const [progress, setProgress] = useState<{ action: AccessAction; done: number; n: number } | null>(null);
  const [result, setResult] = useState<BatchResult | null>(null);

  useEffect(() => {
    // who is asking decides whether the organisation-wide switch can be changed
    api<MeView>('GET', '/me').then(setMe, () => setMe(null));
  }, []);

  const execute = useCallback(async (action: AccessAction, members: MemberView[]): Promise<UserId[]> => {
    setResult(null);
    setProgress({ action, done: 0, n: members.length });
    try {
      const r = await runBatch(action, members, (done) => setProgress({ action, done, n: members.length }));
      setResult(r);
      return r.done.map((m) => m.id);
    } finally {
      setProgress(null);
      setVersion((v) => v + 1);
    }
  }, []);

  /** Asks first when the action closes sessions; resolves with the members it succeeded for (none when cancelled). */
  const perform = useCallback(
    (action: AccessAction, members: MemberView[], confirmed = false): Promise<UserId[]> => {
      if (members.length === 0) return Promise.resolve([]);
      const ask = confirmed ? null : confirmText(t, action, members);
      if (!ask) return execute(action, members);
      return new Promise((resolve) => {
        modal.confirm({
          ...ask,
          okText: t('access.confirm.ok'),
          cancelText: t('access.confirm.cancel'),
          okButtonProps: { id: 'access-confirm-ok', danger: true },
          cancelButtonProps: { id: 'access-confirm-cancel' },
          onOk: () => execute(action, members).then(resolve),
          onCancel: () => resolve([]),
        });
      });
    },
    [execute, modal, t],
  );

  const busy = progress !== null;
  const list = (kind: ListKind, extra?: React.ReactNode) => <MemberList kind={kind} version={version} busy={busy} perform={perform} extra={extra} />;

  return (
    <Space direction="vertical" style={{ width: '100%' }} id="access-page">
      <Row gutter={16}>
        <Col span={10}>
          <SeatUsage version={version} />
        </Col>
        <Col span={14}>
          <AutoAuthorise scoped={me !== null && me.scope !== null} />
        </Col>
      </Row>
      {progress && <Alert type="info" showIcon data-testid="access-progress" message={t('access.running', { action: t(`access.act.${progress.action}` as MessageKey), done: progress.done, n: progress.n })} />}
      {result && <BatchReport result={result} onClose={() => setResult(null)} />}
      <Card size="small">
        <Tabs
          id="access-tabs"
          activeKey={tab}
          onChange={(k) => setTab(k as ListKind)}
          items={[
            { key: 'authorised', label: t('access.tab.authorised'), children: list('authorised') },
            { key: 'waiting', label: t('access.tab.waiting'), children: list('waiting') },
            { key: 'blocked', label: t('access.tab.blocked'), children: list('blocked', <AddBlocked busy={busy} block={(ms) => perform('block', ms, true)} />) },
          ]}
        />
      </Card>
    </Space>
  );
}
