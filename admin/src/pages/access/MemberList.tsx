import { Alert, Button, Col, Input, Row, Space, Table, Tag, Typography } from 'antd';
import { useEffect, useState } from 'react';
import type { DeptNodeView, MemberPageView, MemberView } from '../../../../gateway/src/admin/api-types-org';
import { api, errorMessage } from '../../api';
import { DeptPicker } from '../../components/DeptPicker';
import { useI18n, type MessageKey } from '../../i18n';
import type { AccessAction } from './batch';

type DeptId = DeptNodeView['id'];
type UserId = MemberView['id'];

export type ListKind = 'authorised' | 'waiting' | 'blocked';

/** The member-list filters of each list (docs/admin-api-org.md, "Authorised and blocked lists"). */
const FILTERS: Record<ListKind, Record<string, string>> = {
  authorised: { authorised: 'true', blocked: 'false' },
  waiting: { authorised: 'false', blocked: 'false' },
  blocked: { blocked: 'true' },
};

/** What may be done to the members of each list, row by row or to a selection. */
export const ACTIONS: Record<ListKind, AccessAction[]> = {
  authorised: ['deauthorise', 'block'],
  waiting: ['authorise', 'block'],
  // a blocked member keeps their seat until de-authorised
  blocked: ['unblock', 'deauthorise'],
};

/** De-authorising applies only to members who hold a seat. */
const appliesTo = (a: AccessAction, m: MemberView) => a !== 'deauthorise' || m.authorised;

const DANGER: ReadonlySet<AccessAction> = new Set(['deauthorise', 'block']);
export const PAGE_SIZE = 20;

export interface MemberListProps {
  kind: ListKind;
  /** Bumped after every change: the list reloads. */
  version: number;
  busy: boolean;
  /** Runs an action (asking first when it closes sessions); resolves with the members it succeeded for. */
  perform(action: AccessAction, members: MemberView[]): Promise<UserId[]>;
  /** Extra controls at the end of the toolbar. */
  extra?: React.ReactNode;
}

/** One of the lists: server-paged, searchable, filtered by department, with row and batch actions. */
export function MemberList({ kind, version, busy, perform, extra }: MemberListProps) {
  const { t } = useI18n();
  const [q, setQ] = useState('');
  const [deptId, setDeptId] = useState<DeptId | null>(null);
  const [page, setPage] = useState(1);
  const [data, setData] = useState<MemberPageView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [selected, setSelected] = useState<Map<UserId, MemberView>>(new Map());

  useEffect(() => {
    let live = true;
    setLoading(true);
    const query = { ...FILTERS[kind], q: q.trim(), deptId: deptId ?? undefined, offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE };
    api<MemberPageView>('GET', '/members', { query })
      .then(
        (p) => {
          if (!live) return;
          // the page emptied by a change (its members moved to another list): show the last page that has any
          if (p.members.length === 0 && p.total > 0 && page > 1) return setPage(Math.ceil(p.total / PAGE_SIZE));
          setData(p);
          setError(null);
        },
        (err: unknown) => live && setError(errorMessage(err)),
      )
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [kind, q, deptId, page, version]);

  const act = async (action: AccessAction, members: MemberView[]) => {
    const done = await perform(action, members.filter((m) => appliesTo(action, m)));
    if (done.length === 0) return;
    setSelected((cur) => {
      const next = new Map(cur);
      for (const id of done) next.delete(id);
      return next;
    });
  };

  const chosen = [...selected.values()];
  const label = (a: AccessAction) => t(`access.act.${a}` as MessageKey);

  return (
    <Space direction="vertical" style={{ width: '100%' }} data-testid={`access-list-${kind}`}>
      <Row gutter={8} wrap={false}>
        <Col flex="auto">
          <Input.Search
            id={`access-search-${kind}`}
            allowClear
            maxLength={64}
            placeholder={t('access.search')}
            onSearch={(v) => {
              setQ(v);
              setPage(1);
            }}
          />
        </Col>
        <Col flex="280px">
          <DeptPicker
            id={`access-dept-${kind}`}
            placeholder={t('access.deptFilter')}
            value={deptId}
            onChange={(v) => {
              setDeptId(typeof v === 'number' ? v : null);
              setPage(1);
            }}
          />
        </Col>
        {extra && <Col flex="none">{extra}</Col>}
      </Row>
      <Space wrap>
        <Typography.Text data-testid={`access-selected-${kind}`}>{t('access.selected', { n: chosen.length })}</Typography.Text>
        {ACTIONS[kind].map((a) => (
          <Button
            key={a}
            data-testid={`access-batch-${kind}-${a}`}
            danger={DANGER.has(a)}
            type={DANGER.has(a) ? 'default' : 'primary'}
            disabled={!chosen.some((m) => appliesTo(a, m)) || busy}
            onClick={() => void act(a, chosen)}
          >
            {t(`access.batch.${a}` as MessageKey)}
          </Button>
        ))}
        <Button size="small" type="link" disabled={chosen.length === 0} onClick={() => setSelected(new Map())}>
          {t('access.clearSelection')}
        </Button>
      </Space>
      {error && <Alert type="error" showIcon message={error} />}
      <Table<MemberView>
        rowKey="id"
        size="small"
        loading={loading}
        dataSource={data?.members ?? []}
        locale={{ emptyText: t(`access.empty.${kind}` as MessageKey) }}
        rowSelection={{
          preserveSelectedRowKeys: true,
          selectedRowKeys: chosen.map((m) => m.id),
          onChange: (keys, rows) => {
            const byId = new Map(rows.filter((r): r is MemberView => !!r).map((r) => [r.id, r] as const));
            setSelected((cur) => new Map(keys.map((k) => [k as UserId, byId.get(k as UserId) ?? (cur.get(k as UserId) as MemberView)] as const).filter(([, m]) => !!m)));
          },
          getCheckboxProps: (m) => ({ id: `access-select-${kind}-${m.account}` }),
        }}
        pagination={{
          current: page,
          pageSize: PAGE_SIZE,
          total: data?.total ?? 0,
          showSizeChanger: false,
          showTotal: (n) => t('total', { n }),
          onChange: setPage,
        }}
        columns={[
          { title: t('org.account'), dataIndex: 'account' },
          { title: t('org.name'), dataIndex: 'name' },
          { title: t('org.dept'), key: 'depts', render: (_v, m) => m.depts.map((d) => d.name).join('，') },
          {
            title: t('org.status'),
            key: 'status',
            render: (_v, m) => (
              <Space size={4} wrap>
                <Tag color={m.status === 'active' ? 'green' : 'default'}>{m.status === 'active' ? t('org.active') : t('org.disabled')}</Tag>
                {m.authorised && <Tag color="blue">{t('org.authorised')}</Tag>}
                {m.blocked && <Tag color="red">{t('org.blocked')}</Tag>}
              </Space>
            ),
          },
          {
            title: t('access.col.actions'),
            key: 'actions',
            render: (_v, m) => (
              <Space size={0}>
                {ACTIONS[kind].filter((a) => appliesTo(a, m)).map((a) => (
                  <Button key={a} type="link" size="small" danger={DANGER.has(a)} disabled={busy} data-testid={`access-${kind}-${a}-${m.account}`} onClick={() => void act(a, [m])}>
                    {label(a)}
                  </Button>
                ))}
              </Space>
            ),
          },
        ]}
      />
    </Space>
  );
}
