import { Col, Row } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import type { MeView } from '../../../gateway/src/admin/api-types';
import { api } from '../api';
import { DeptTree } from './org/DeptTree';
import { MembersPanel, type OrgRights } from './org/MembersPanel';
import { useDeptTree, type DeptId } from './org/use-dept-tree';

const NO_RIGHTS: OrgRights = { org: false, members: false, devices: false, authorisation: false };

function rightsOf(me: MeView): OrgRights {
  const has = (r: string) => me.superAdmin || (me.rights as readonly string[]).includes(r);
  return { org: has('org'), members: has('members'), devices: has('devices'), authorisation: has('authorisation') };
}

/**
 * The Organisation page (F-3.1, F-3.2, F-3.3): the department tree on the
 * left, the selected department's members on the right. The server checks
 * every right; the page only hides the tools the administrator cannot use.
 */
export default function OrgPage() {
  const tree = useDeptTree();
  const [selectedId, setSelectedId] = useState<DeptId | null>(null);
  const [rights, setRights] = useState<OrgRights>(NO_RIGHTS);

  useEffect(() => {
    // the shell does not hand `me` to this page; the roles may also have changed since login
    api<MeView>('GET', '/me').then(
      (me) => setRights(rightsOf(me)),
      () => setRights(NO_RIGHTS),
    );
  }, []);

  // the tree holds the freshest copy of a department (renamed, moved, counts)
  const selected = selectedId === null ? null : (tree.find(selectedId)?.dept ?? null);
  const { refreshDepts } = tree;
  const onDeptsChanged = useCallback((ids: DeptId[]) => void refreshDepts(ids), [refreshDepts]);

  return (
    <Row gutter={16} id="org-page">
      <Col xs={24} md={9} xl={8} xxl={6}>
        <DeptTree tree={tree} selected={selected} onSelect={(d) => setSelectedId(d?.id ?? null)} canEdit={rights.org} />
      </Col>
      <Col xs={24} md={15} xl={16} xxl={18}>
        <MembersPanel dept={selected} rights={rights} onDeptsChanged={onDeptsChanged} />
      </Col>
    </Row>
  );
}
