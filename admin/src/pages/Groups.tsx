import { Col, Row, Tabs } from 'antd';
import { useEffect, useState } from 'react';
import type { MeView } from '../../../gateway/src/admin/api-types';
import type { GroupSettingsView } from '../../../gateway/src/admin/api-types-system';
import { api } from '../api';
import { useI18n } from '../i18n';
import { GroupList } from './groups/GroupList';
import { LimitSettingsCard } from './groups/LimitSettingsCard';
import { WhitelistCard } from './groups/WhitelistCard';

const canSettings = (me: MeView) => me.superAdmin || me.rights.includes('settings' as MeView['rights'][number]);

/**
 * Discussion groups (F-3.8, F-6.1): the list with its members drawer, and the
 * member limits with the whitelist. Right `groups`; the limits need `settings`.
 * `me` comes from the shell when it passes it; otherwise the page asks GET /me.
 */
export default function GroupsPage({ me: given }: { me?: MeView }) {
  const { t } = useI18n();
  const [me, setMe] = useState<MeView | null>(given ?? null);
  const [reloadKey, setReloadKey] = useState(0);
  const [defaultLimit, setDefaultLimit] = useState<number | null>(null);

  useEffect(() => {
    if (given) return setMe(given);
    let live = true;
    api<MeView>('GET', '/me').then(
      (m) => live && setMe(m),
      () => live && setMe(null),
    );
    return () => {
      live = false;
    };
  }, [given]);

  const settingsRight = me !== null && canSettings(me);

  useEffect(() => {
    if (!settingsRight) return;
    api<GroupSettingsView>('GET', '/groups/settings').then(
      (s) => setDefaultLimit(s.groupMemberLimit),
      () => setDefaultLimit(null),
    );
  }, [settingsRight, reloadKey]);

  const bump = () => setReloadKey((n) => n + 1);

  return (
    <Tabs
      id="groups-tabs"
      defaultActiveKey="list"
      items={[
        { key: 'list', label: t('groups.tab.list'), children: <GroupList reloadKey={reloadKey} defaultLimit={defaultLimit} /> },
        {
          key: 'limits',
          label: t('groups.tab.limits'),
          children: (
            <Row gutter={[16, 16]}>
              <Col xs={24} xl={10}>
                <LimitSettingsCard canEdit={settingsRight} onSaved={bump} />
              </Col>
              <Col xs={24} xl={14}>
                <WhitelistCard onChanged={bump} />
              </Col>
            </Row>
          ),
        },
      ]}
    />
  );
}
