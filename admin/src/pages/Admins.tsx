import { Alert, App as AntApp, Tabs } from 'antd';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { AdminView, MeView } from '../../../gateway/src/admin/api-types';
import { api, errorMessage } from '../api';
import { useI18n } from '../i18n';
import { AdminsTab } from './admins/AdminsTab';
import type { RoleRow } from './admins/grantable';
import { RolesTab } from './admins/RolesTab';

/**
 * Administrators and roles (F-3.9): roles with rights and department scopes,
 * and the administrator accounts holding them. What may be granted is offered
 * from the logged-in administrator's own roles; the server decides, and its
 * refusals are shown as they come.
 */
export default function AdminsPage({ me: initialMe }: { me: MeView }) {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const [me, setMe] = useState<MeView>(initialMe);
  const [roles, setRoles] = useState<RoleRow[]>([]);
  const [admins, setAdmins] = useState<AdminView[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [tab, setTab] = useState('roles');

  // each reload's number: an answer to an older reload that arrives after a newer one is dropped
  const generation = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      // roles may have changed for the logged-in administrator too: what they may grant follows
      const [r, a, m] = await Promise.all([api<{ roles: RoleRow[] }>('GET', '/roles'), api<{ admins: AdminView[] }>('GET', '/admins'), api<MeView>('GET', '/me')]);
      if (mine !== generation.current) return;
      setRoles(r.roles);
      setAdmins(a.admins);
      setMe(m);
    } catch (err) {
      if (mine === generation.current) setError(errorMessage(err));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    void reload();
  }, [reload]);

  /** Runs one change; a refusal stays on the page until closed or the next change. */
  const run = useCallback(
    async (fn: () => Promise<unknown>, done?: string): Promise<boolean> => {
      setError(null);
      try {
        await fn();
        if (done) void message.success(done);
        return true;
      } catch (err) {
        setError(errorMessage(err));
        return false;
      }
    },
    [message],
  );

  const refresh = () => void reload();

  return (
    <div id="admins-page">
      {error && <Alert id="admins-error" type="error" showIcon closable message={error} onClose={() => setError(null)} style={{ marginBottom: 12 }} />}
      <Tabs
        id="admins-tabs"
        activeKey={tab}
        onChange={setTab}
        items={[
          {
            key: 'roles',
            label: <span data-testid="admins-tab-roles">{t('admins.tab.roles')}</span>,
            children: <RolesTab me={me} roles={roles} loading={loading} run={run} reload={refresh} />,
          },
          {
            key: 'admins',
            label: <span data-testid="admins-tab-admins">{t('admins.tab.admins')}</span>,
            children: <AdminsTab me={me} admins={admins} roles={roles} loading={loading} run={run} reload={refresh} />,
          },
        ]}
      />
    </div>
  );
}
