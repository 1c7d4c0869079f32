import { Alert, App as AntApp, Button, ConfigProvider, Layout, Menu, Space, Spin, Typography } from 'antd';
import enUS from 'antd/es/locale/en_US';
import zhCN from 'antd/es/locale/zh_CN';
import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import type { MeView } from '../../gateway/src/admin/api-types';
import { api, ApiError, errorMessage, fetchMe, logout, setSessionEndedHandler } from './api';
import { I18nContext, initialLang, makeT, saveLang, useI18n, type Lang, type MessageKey } from './i18n';
import LicencePage from './pages/Licence';
import { LoginPage } from './pages/Login';
import { SetupWizard } from './pages/Setup';

// one loader per page; the page of the address is fetched at once (below), alongside /setup and /me
const LOADERS = {
  org: () => import('./pages/Org'),
  groups: () => import('./pages/Groups'),
  logs: () => import('./pages/Logs'),
  access: () => import('./pages/Access'),
  admins: () => import('./pages/Admins'),
  excel: () => import('./pages/Excel'),
  rtx: () => import('./pages/Rtx'),
  sync: () => import('./pages/Sync'),
  backup: () => import('./pages/Backup'),
  apps: () => import('./pages/Apps'),
  portal: () => import('./pages/Portal'),
  broadcast: () => import('./pages/Broadcast'),
};
const OrgPage = lazy(LOADERS.org);
const GroupsPage = lazy(LOADERS.groups);
const LogsPage = lazy(LOADERS.logs);
const AccessPage = lazy(LOADERS.access);
const AdminsPage = lazy(LOADERS.admins);
const ExcelPage = lazy(LOADERS.excel);
const RtxPage = lazy(LOADERS.rtx);
const SyncPage = lazy(LOADERS.sync);
const BackupPage = lazy(LOADERS.backup);
const AppsPage = lazy(LOADERS.apps);
const PortalPage = lazy(LOADERS.portal);
const BroadcastPage = lazy(LOADERS.broadcast);

type Right = MeView['rights'][number];
type PageKey = 'org' | 'access' | 'groups' | 'excel' | 'admins' | 'licence' | 'logs' | 'rtx' | 'sync' | 'backup' | 'apps' | 'portal' | 'broadcast';

const PAGES: { key: PageKey; label: MessageKey; rights: string[] }[] = [
  { key: 'org', label: 'menu.org', rights: [] },
  { key: 'access', label: 'menu.access', rights: ['authorisation'] },
  { key: 'groups', label: 'menu.groups', rights: ['groups'] },
  { key: 'apps', label: 'menu.apps', rights: ['apps'] },
  { key: 'portal', label: 'menu.portal', rights: ['apps'] },
  { key: 'broadcast', label: 'menu.broadcast', rights: ['settings'] },
  { key: 'excel', label: 'menu.excel', rights: ['members'] },
  { key: 'admins', label: 'menu.admins', rights: ['admins'] },
  { key: 'licence', label: 'menu.licence', rights: ['licence'] },
  { key: 'rtx', label: 'menu.rtx', rights: ['settings'] },
  { key: 'sync', label: 'menu.sync', rights: ['settings'] },
  { key: 'backup', label: 'menu.backup', rights: ['settings'] },
  { key: 'logs', label: 'menu.logs', rights: ['logs'] },
];

function pageFromPath(): PageKey {
  const first = window.location.pathname.split('/')[1] ?? '';
  return PAGES.some((p) => p.key === first) ? (first as PageKey) : 'org';
}

{
  const first = pageFromPath();
  // a failed prefetch is retried by lazy() when the page is shown
  if (first in LOADERS) LOADERS[first as keyof typeof LOADERS]().catch(() => undefined);
}

export function hasRight(me: MeView, right: string): boolean {
  return me.superAdmin || me.rights.includes(right as Right);
}

type Phase = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'setup' } | { kind: 'login' } | { kind: 'console'; me: MeView };

function LanguageSwitch() {
  const { lang, t, setLang } = useI18n();
  return (
    <Button size="small" onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')}>
      {t('language')}
    </Button>
  );
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

/** Over plain HTTP from another machine, the session cookie crosses the network in clear: say so, and where HTTPS is. */
function PlainHttpWarning() {
  const { t } = useI18n();
  const [https, setHttps] = useState<string | null>(null);
  const plain = window.location.protocol === 'http:' && !LOOPBACK.test(window.location.hostname);
  useEffect(() => {
    if (!plain) return;
    fetch('/api/server-info', { credentials: 'omit' })
      .then((r) => r.json() as Promise<{ consoleHttps?: string | null }>)
      .then((info) => setHttps(info.consoleHttps ?? null))
      .catch(() => undefined);
  }, [plain]);
  if (!plain) return null;
  return (
    <Alert
      id="plain-http-warning"
      type="warning"
      showIcon
      style={{ marginBottom: 16 }}
      message={t('plainHttp')}
      description={https ? <a href={https}>{https}</a> : null}
    />
  );
}

function Shell({ me, onLoggedOut }: { me: MeView; onLoggedOut(): void }) {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const [page, setPage] = useState<PageKey>(pageFromPath);

  useEffect(() => {
    const onPop = () => setPage(pageFromPath());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const go = (key: PageKey) => {
    if (key !== page) window.history.pushState(null, '', `/${key}`);
    setPage(key);
  };
  const doLogout = async () => {
    try {
      await logout();
    } catch (err) {
      void message.error(errorMessage(err));
    }
    onLoggedOut();
  };
  const current = PAGES.find((p) => p.key === page)!;
  const allowed = current.rights.every((r) => hasRight(me, r));

  return (
    <Layout id="console-shell" style={{ minHeight: '100vh' }}>
      <Layout.Sider theme="light" width={200} style={{ borderRight: '1px solid #f0f0f0' }}>
        <div style={{ padding: 16, fontWeight: 600 }}>{t('appName')}</div>
        <Menu
          mode="inline"
          selectedKeys={[page]}
          items={PAGES.filter((p) => p.rights.every((r) => hasRight(me, r))).map((p) => ({ key: p.key, label: t(p.label) }))}
          onClick={({ key }) => go(key as PageKey)}
        />
      </Layout.Sider>
      <Layout>
        <Layout.Header style={{ background: '#fff', display: 'flex', justifyContent: 'flex-end', alignItems: 'center', borderBottom: '1px solid #f0f0f0' }}>
          <Space>
            <Typography.Text>{me.displayName || me.username}</Typography.Text>
            <LanguageSwitch />
            <Button size="small" onClick={() => void doLogout()}>
              {t('logout')}
            </Button>
          </Space>
        </Layout.Header>
        <Layout.Content style={{ padding: 16 }}>
          <PlainHttpWarning />
          {!allowed ? (
            <Alert type="warning" showIcon message={t('noRight')} />
          ) : (
            <Suspense fallback={<Spin />}>
              {page === 'org' && <OrgPage />}
              {page === 'groups' && <GroupsPage me={me} />}
              {page === 'licence' && <LicencePage />}
              {page === 'logs' && <LogsPage />}
              {page === 'access' && <AccessPage />}
              {page === 'admins' && <AdminsPage me={me} />}
              {page === 'excel' && <ExcelPage />}
              {page === 'rtx' && <RtxPage me={me} />}
              {page === 'sync' && <SyncPage />}
              {page === 'backup' && <BackupPage />}
              {page === 'apps' && <AppsPage />}
              {page === 'portal' && <PortalPage />}
              {page === 'broadcast' && <BroadcastPage />}
            </Suspense>
          )}
        </Layout.Content>
      </Layout>
    </Layout>
  );
}

function Main() {
  const { t } = useI18n();
  const [phase, setPhase] = useState<Phase>({ kind: 'loading' });

  const boot = useCallback(async () => {
    setPhase({ kind: 'loading' });
    try {
      const setup = await api<{ needsSetup: boolean }>('GET', '/setup');
      if (setup.needsSetup) return setPhase({ kind: 'setup' });
      try {
        setPhase({ kind: 'console', me: await fetchMe() });
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return setPhase({ kind: 'login' });
        throw err;
      }
    } catch (err) {
      setPhase({ kind: 'error', message: errorMessage(err) });
    }
  }, []);

  useEffect(() => {
    void boot();
    setSessionEndedHandler(() => setPhase({ kind: 'login' }));
    return () => setSessionEndedHandler(null);
  }, [boot]);

  switch (phase.kind) {
    case 'loading':
      return <Spin style={{ display: 'block', marginTop: 120 }} />;
    case 'error':
      return (
        <div style={{ maxWidth: 480, margin: '120px auto' }}>
          <Alert type="error" showIcon message={phase.message} action={<Button onClick={() => void boot()}>{t('retry')}</Button>} />
        </div>
      );
    case 'setup':
      return <SetupWizard extra={<LanguageSwitch />} onDone={(me) => setPhase({ kind: 'console', me })} />;
    case 'login':
      return <LoginPage extra={<LanguageSwitch />} onLoggedIn={(me) => setPhase({ kind: 'console', me })} />;
    case 'console':
      return <Shell me={phase.me} onLoggedOut={() => setPhase({ kind: 'login' })} />;
  }
}

export function Root() {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const i18n = useMemo(
    () => ({
      lang,
      t: makeT(lang),
      setLang(next: Lang) {
        saveLang(next);
        setLangState(next);
      },
    }),
    [lang],
  );
  useEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = i18n.t('appName');
  }, [lang, i18n]);

  return (
    <I18nContext.Provider value={i18n}>
      <ConfigProvider locale={lang === 'zh' ? zhCN : enUS}>
        <AntApp>
          <Main />
        </AntApp>
      </ConfigProvider>
    </I18nContext.Provider>
  );
}
