import { Alert, Card, Col, Input, Row, Space, Spin, Table, Tag, Tree } from 'antd';
import type { TreeDataNode } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import type { DeptListView, DeptNodeView, MemberPageView, MemberView } from '../../../gateway/src/admin/api-types-org';
import { api, errorMessage } from '../api';
import { useI18n } from '../i18n';

type DeptId = DeptNodeView['id'];

interface DeptTreeNode extends TreeDataNode {
  key: string;
  dept: DeptNodeView;
  children?: DeptTreeNode[];
}

function toNode(d: DeptNodeView): DeptTreeNode {
  return { key: String(d.id), title: `${d.name} (${d.memberCount})`, isLeaf: !d.hasChildren, dept: d };
}

function withChildren(nodes: DeptTreeNode[], key: string, children: DeptTreeNode[]): DeptTreeNode[] {
  return nodes.map((n) => (n.key === key ? { ...n, children } : n.children ? { ...n, children: withChildren(n.children, key, children) } : n));
}

const PAGE_SIZE = 20;

export default function OrgPage() {
  const { t } = useI18n();
  const [tree, setTree] = useState<DeptTreeNode[] | null>(null);
  const [treeError, setTreeError] = useState<string | null>(null);
  const [selected, setSelected] = useState<DeptNodeView | null>(null);
  const [q, setQ] = useState('');
  const [page, setPage] = useState(1);
  const [members, setMembers] = useState<MemberPageView | null>(null);
  const [membersError, setMembersError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  useEffect(() => {
    api<DeptListView>('GET', '/depts', { query: { parentId: 'root' } }).then(
      (list) => setTree(list.depts.map(toNode)),
      (err: unknown) => setTreeError(errorMessage(err)),
    );
  }, []);

  const loadChildren = async (node: DeptTreeNode): Promise<void> => {
    if (node.children) return;
    try {
      const list = await api<DeptListView>('GET', '/depts', { query: { parentId: node.dept.id } });
      setTree((cur) => withChildren(cur ?? [], node.key, list.depts.map(toNode)));
    } catch (err) {
      setTreeError(errorMessage(err));
    }
  };

  const loadMembers = useCallback(async (deptId: DeptId, search: string, pageNo: number) => {
    setLoading(true);
    try {
      setMembers(await api<MemberPageView>('GET', '/members', { query: { deptId, q: search.trim(), offset: (pageNo - 1) * PAGE_SIZE, limit: PAGE_SIZE } }));
      setMembersError(null);
    } catch (err) {
      setMembersError(errorMessage(err));
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    if (selected) void loadMembers(selected.id, q, page);
  }, [selected, q, page, loadMembers]);

  return (
    <Row gutter={16}>
      <Col span={7}>
        <Card title={t('org.depts')} size="small">
          {treeError && <Alert type="error" showIcon message={treeError} style={{ marginBottom: 8 }} />}
          {tree === null && !treeError ? (
            <Spin />
          ) : (
            <Tree<DeptTreeNode>
              treeData={tree ?? []}
              loadData={loadChildren}
              onSelect={(_keys, info) => {
                setSelected(info.node.dept);
                setPage(1);
              }}
            />
          )}
        </Card>
      </Col>
      <Col span={17}>
        <Card title={selected ? `${t('org.members')} · ${selected.path || selected.name}` : t('org.members')} size="small">
          {!selected ? (
            <Alert type="info" message={t('org.pickDept')} />
          ) : (
            <Space direction="vertical" style={{ width: '100%' }}>
              <Input.Search
                allowClear
                placeholder={t('org.search')}
                maxLength={64}
                onSearch={(value) => {
                  setQ(value);
                  setPage(1);
                }}
              />
              {membersError && <Alert type="error" showIcon message={membersError} />}
              <Table<MemberView>
                rowKey="id"
                size="small"
                loading={loading}
                dataSource={members?.members ?? []}
                pagination={{
                  current: page,
                  pageSize: PAGE_SIZE,
                  total: members?.total ?? 0,
                  showSizeChanger: false,
                  showTotal: (n) => t('total', { n }),
                  onChange: setPage,
                }}
                columns={[
                  { title: t('org.account'), dataIndex: 'account' },
                  { title: t('org.name'), dataIndex: 'name' },
                  { title: t('org.title'), dataIndex: 'title' },
                  { title: t('org.mobile'), dataIndex: 'mobile' },
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
                ]}
              />
            </Space>
          )}
        </Card>
      </Col>
    </Row>
  );
}
