import { Alert, Avatar, Card, Empty, Select, Space, Spin, Tag, Typography } from 'antd';
import { useEffect, useRef, useState } from 'react';
import { api, errorMessage } from '../../api';
import { useI18n } from '../../i18n';
import type { AppPeopleView, PortalPreviewView } from './shared';

const DEBOUNCE_MS = 250;

/** What a chosen member's client shows (GET /portal/preview, resolved on the server). */
export function PreviewPanel() {
  const { t } = useI18n();
  const [found, setFound] = useState<AppPeopleView['members']>([]);
  const [userId, setUserId] = useState<number | null>(null);
  const [view, setView] = useState<PortalPreviewView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);

  const search = (q: string) => {
    if (timer.current) clearTimeout(timer.current);
    if (!q.trim()) return;
    timer.current = setTimeout(() => {
      api<AppPeopleView>('GET', '/apps/people', { query: { q: q.trim().slice(0, 64) } }).then((r) => setFound(r.members), (err: unknown) => setError(errorMessage(err)));
    }, DEBOUNCE_MS);
  };

  useEffect(() => {
    if (userId === null) return;
    let live = true;
    setLoading(true);
    api<PortalPreviewView>('GET', '/portal/preview', { query: { userId } })
      .then((v) => {
        if (!live) return;
        setView(v);
        setError(null);
      }, (err: unknown) => live && setError(errorMessage(err)))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [userId]);

  const w = view?.workbench;
  return (
    <div style={{ maxWidth: 760 }}>
      <Select<number>
        id="portal-preview-user"
        showSearch
        filterOption={false}
        style={{ width: 360, marginBottom: 16 }}
        placeholder={t('portal.previewPick')}
        onSearch={search}
        value={userId ?? undefined}
        onChange={setUserId}
        options={found.map((m) => ({ value: m.id, label: `${m.name} (${m.account})${m.dept ? ` · ${m.dept}` : ''}` }))}
        notFoundContent={t('apps.noMatch')}
      />
      {error && <Alert type="error" showIcon message={error} />}
      {loading && <Spin />}
      {w && !loading && (
        <Card id="portal-preview" title={<Space><span id="portal-preview-title">{w.title}</span><Tag id="portal-preview-template" color={w.template.isDefault ? 'blue' : 'green'}>{t('portal.previewTemplate', { name: w.template.name })}</Tag></Space>} style={{ width: 420 }}>
          <div style={{ display: 'flex', gap: 8, overflowX: 'auto', marginBottom: 12 }}>
            {w.banners.map((b, i) => (
              <img key={i} className="portal-preview-banner" src={b.imageUrl} alt="" title={b.link ?? ''} style={{ width: 300, height: 120, objectFit: 'cover', borderRadius: 6, flex: 'none' }} />
            ))}
          </div>
          {w.sections.length === 0 && <Empty description={t('portal.previewEmpty')} />}
          {w.sections.map((s, i) => (
            <div key={i} className="portal-preview-section" style={{ marginBottom: 12 }}>
              <Typography.Text strong className="portal-preview-section-title">{s.title || t('portal.untitled')}</Typography.Text>
              <div style={{ display: 'grid', gridTemplateColumns: 'repeat(4, 1fr)', gap: 8, marginTop: 8 }}>
                {s.apps.map((a) => (
                  <div key={a.key} className="portal-preview-app" data-key={a.key} style={{ textAlign: 'center' }}>
                    <Avatar shape="square" size={40} src={a.logoUrl ?? undefined}>{a.name.slice(0, 1)}</Avatar>
                    <div style={{ fontSize: 12, marginTop: 4, overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}>{a.name}</div>
                  </div>
                ))}
              </div>
            </div>
          ))}
        </Card>
      )}
    </div>
  );
}
