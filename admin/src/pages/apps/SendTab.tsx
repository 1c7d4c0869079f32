import { Alert, Button, Card, Checkbox, Col, Form, Input, Modal, Radio, Row, Space, Typography, Upload } from 'antd';
import { useEffect, useRef, useState } from 'react';
import type { AppMediaView, AppSendPreviewView, AppSendResultView } from '../../../../gateway/src/admin/api-types-apps-send';
import type { BodyByKind } from '../../../../gateway/src/protocol/client-v1';
import { ApiError, api, errorMessage, fetchMe, getCsrfToken, sessionEnded } from '../../api';
import { DeptPicker } from '../../components/DeptPicker';
import { MemberPicker } from '../../components/MemberPicker';
import { useI18n, type MessageKey } from '../../i18n';

type MsgType = 'text' | 'mpnews' | 'image' | 'file' | 'link' | 'exlink';
type TargetKind = 'users' | 'depts' | 'all';
const TYPES: MsgType[] = ['text', 'mpnews', 'image', 'file', 'link', 'exlink'];
const MAX_ITEMS = 5;
const PREVIEW_DEBOUNCE_MS = 300;

interface Item { title: string; url: string; digest: string; content: string; cover: AppMediaView | null }
const emptyItem = (): Item => ({ title: '', url: '', digest: '', content: '', cover: null });

function size(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Uploads a file for the app (POST /api/admin/apps/:id/media); the answer's mediaId goes into the message. */
async function uploadMedia(appId: number, file: File, type: 'image' | 'file'): Promise<AppMediaView> {
  const token = getCsrfToken() ?? (await fetchMe()).csrfToken;
  const res = await fetch(`/api/admin/apps/${appId}/media?name=${encodeURIComponent(file.name)}&type=${type}`, {
    method: 'POST', credentials: 'same-origin', body: file,
    headers: { 'content-type': 'application/octet-stream', 'x-csrf-token': token, accept: 'application/json' },
  });
  const text = await res.text();
  let data: unknown = null;
  try {
    data = JSON.parse(text);
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string } } | null)?.error;
    if (res.status === 401) sessionEnded();
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? res.statusText);
  }
  return data as AppMediaView;
}

/** The message in the open API's shape, or null while something required is missing. */
function messageOf(type: MsgType, s: { content: string; link: Item; sso: boolean; media: AppMediaView | null; items: Item[] }): { msgType: MsgType; body: unknown } | null {
  switch (type) {
    case 'text':
      return s.content.trim() ? { msgType: type, body: { content: s.content } } : null;
    case 'image':
    case 'file':
      return s.media ? { msgType: type, body: { media_id: s.media.mediaId } } : null;
    case 'link':
      return s.link.title.trim() && s.link.url.trim() ? { msgType: type, body: { title: s.link.title, url: s.link.url.trim(), action: s.sso ? 1 : 0 } } : null;
    case 'mpnews':
      if (!s.items.every((i) => i.title.trim())) return null;
      return {
        msgType: type,
        body: s.items.map((i) => ({ title: i.title, content: i.content, ...(i.digest ? { digest: i.digest } : {}), ...(i.url.trim() ? { url: i.url.trim() } : {}), ...(i.cover ? { media_id: i.cover.mediaId } : {}) })),
      };
    case 'exlink':
      if (!s.items.every((i) => i.title.trim() && i.url.trim())) return null;
      return { msgType: type, body: s.items.map((i) => ({ title: i.title, url: i.url.trim(), ...(i.digest ? { digest: i.digest } : {}), ...(i.cover ? { media_id: i.cover.mediaId } : {}) })) };
  }
}

function MediaButton({ appId, type, value, onChange, id }: { appId: number; type: 'image' | 'file'; value: AppMediaView | null; onChange(m: AppMediaView): void; id: string }) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <Space direction="vertical" size={4}>
      <Upload
        accept={type === 'image' ? 'image/*' : undefined}
        showUploadList={false}
        beforeUpload={(file) => {
          setBusy(true);
          setError(null);
          uploadMedia(appId, file, type).then(onChange, (e: unknown) => setError(errorMessage(e))).finally(() => setBusy(false));
          return false;
        }}
      >
        <Button id={id} loading={busy}>{busy ? t('appsSend.uploading') : t('appsSend.upload')}</Button>
      </Upload>
      {value && <Typography.Text type="secondary">{t('appsSend.uploaded', { name: value.name, size: size(value.size) })}</Typography.Text>}
      {error && <Typography.Text type="danger">{error}</Typography.Text>}
    </Space>
  );
}

/** How a client shows the message: the stored form from the server's preview. */
function Preview({ view }: { view: AppSendPreviewView | null }) {
  const { t } = useI18n();
  if (!view) return <Typography.Text type="secondary">{t('appsSend.previewEmpty')}</Typography.Text>;
  const b = view.body;
  let inner: React.ReactNode;
  switch (view.kind) {
    case 'text':
      inner = <Typography.Paragraph style={{ whiteSpace: 'pre-wrap', margin: 0 }}>{(b as BodyByKind['text']).text}</Typography.Paragraph>;
      break;
    case 'image':
    case 'file': {
      const f = b as BodyByKind['file'];
      inner = <Typography.Text>{view.kind === 'image' ? '🖼 ' : '📄 '}{f.name} · {size(f.size)}</Typography.Text>;
      break;
    }
    case 'link': {
      const l = b as BodyByKind['link'];
      inner = (
        <Space direction="vertical" size={0}>
          <Typography.Text strong>{l.title}</Typography.Text>
          <Typography.Text type="secondary" ellipsis>{l.url}{l.sso ? ' (+SSO)' : ''}</Typography.Text>
        </Space>
      );
      break;
    }
    case 'mpnews':
    case 'exlink': {
      const items = (b as BodyByKind['mpnews'] | BodyByKind['exlink']).items;
      inner = (
        <Space direction="vertical" style={{ width: '100%' }}>
          {items.map((i, n) => (
            <Card key={n} size="small" type="inner" title={i.title}>
              {i.cover && <Typography.Text type="secondary">🖼 {i.cover.name}</Typography.Text>}
              {i.digest && <Typography.Paragraph style={{ margin: 0 }}>{i.digest}</Typography.Paragraph>}
              {'url' in i && i.url && <Typography.Text type="secondary" ellipsis>{i.url}</Typography.Text>}
            </Card>
          ))}
        </Space>
      );
      break;
    }
    default:
      inner = null;
  }
  return (
    <Card size="small" id="app-send-preview" title={t('appsSend.previewFrom', { app: view.app.name })}>
      {inner}
    </Card>
  );
}

/**
 * The app detail's "send" tab (F-4.5): choose people, departments or
 * everyone, a message type and its content; a live preview shows the message
 * as clients will get it (POST /apps/:id/send/preview); Send posts it
 * (POST /apps/:id/send) and shows who got it and who was left out.
 */
export function SendTab({ appId }: { appId: number }) {
  const { t } = useI18n();
  const [target, setTarget] = useState<TargetKind>('users');
  const [userIds, setUserIds] = useState<number[]>([]);
  const [deptIds, setDeptIds] = useState<number[]>([]);
  const [type, setType] = useState<MsgType>('text');
  const [content, setContent] = useState('');
  const [link, setLink] = useState<Item>(emptyItem());
  const [sso, setSso] = useState(false);
  const [media, setMedia] = useState<AppMediaView | null>(null);
  const [items, setItems] = useState<Item[]>([emptyItem()]);
  const [preview, setPreview] = useState<AppSendPreviewView | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const [result, setResult] = useState<AppSendResultView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const seq = useRef(0);

  const message = messageOf(type, { content, link, sso, media, items });
  const key = JSON.stringify(message);

  useEffect(() => {
    const mine = ++seq.current;
    if (!message) {
      setPreview(null);
      setPreviewError(null);
      return;
    }
    const timer = setTimeout(() => {
      api<AppSendPreviewView>('POST', `/apps/${appId}/send/preview`, { body: { message } }).then(
        (v) => {
          if (mine !== seq.current) return;
          setPreview(v);
          setPreviewError(null);
        },
        (e: unknown) => {
          if (mine !== seq.current) return;
          setPreview(null);
          setPreviewError(errorMessage(e));
        },
      );
    }, PREVIEW_DEBOUNCE_MS);
    return () => clearTimeout(timer);
    // the message is compared by its JSON (`key`)
  }, [appId, key]);

  const targetBody = target === 'all' ? { all: true } : target === 'users' ? { userIds } : { deptIds };
  const hasTarget = target === 'all' || (target === 'users' ? userIds.length > 0 : deptIds.length > 0);

  const doSend = async () => {
    if (!message) return;
    setSending(true);
    setError(null);
    setResult(null);
    try {
      setResult(await api<AppSendResultView>('POST', `/apps/${appId}/send`, { body: { target: targetBody, message } }));
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setSending(false);
    }
  };
  const send = () => {
    if (target === 'all') Modal.confirm({ title: t('appsSend.confirmAll'), onOk: doSend });
    else void doSend();
  };

  const setItem = (n: number, patch: Partial<Item>) => setItems(items.map((it, i) => (i === n ? { ...it, ...patch } : it)));
  const itemEditor = (withContent: boolean) => (
    <Space direction="vertical" style={{ width: '100%' }}>
      {items.map((it, n) => (
        <Card key={n} size="small" title={t('appsSend.article', { n: n + 1 })} extra={items.length > 1 && <Button size="small" onClick={() => setItems(items.filter((_, i) => i !== n))}>{t('appsSend.remove')}</Button>}>
          <Form.Item label={t('appsSend.title')} required>
            <Input id={`app-send-item-${n}-title`} maxLength={64} value={it.title} onChange={(e) => setItem(n, { title: e.target.value })} />
          </Form.Item>
          <Form.Item label={t('appsSend.url')} required={!withContent}>
            <Input id={`app-send-item-${n}-url`} value={it.url} placeholder="https://" onChange={(e) => setItem(n, { url: e.target.value })} />
          </Form.Item>
          <Form.Item label={t('appsSend.digest')}>
            <Input id={`app-send-item-${n}-digest`} maxLength={120} value={it.digest} onChange={(e) => setItem(n, { digest: e.target.value })} />
          </Form.Item>
          {withContent && (
            <Form.Item label={t('appsSend.content')}>
              <Input.TextArea id={`app-send-item-${n}-content`} rows={3} maxLength={600} showCount value={it.content} onChange={(e) => setItem(n, { content: e.target.value })} />
            </Form.Item>
          )}
          <Form.Item label={t('appsSend.cover')}>
            <MediaButton appId={appId} type="image" id={`app-send-item-${n}-cover`} value={it.cover} onChange={(m) => setItem(n, { cover: m })} />
          </Form.Item>
        </Card>
      ))}
      {items.length < MAX_ITEMS && <Button id="app-send-add-item" onClick={() => setItems([...items, emptyItem()])}>{t('appsSend.addArticle')}</Button>}
    </Space>
  );

  return (
    <Row gutter={24}>
      <Col xs={24} lg={14}>
        <Form layout="vertical">
          <Form.Item label={t('appsSend.to')}>
            <Radio.Group id="app-send-target" value={target} onChange={(e) => setTarget(e.target.value as TargetKind)}>
              {(['users', 'depts', 'all'] as const).map((k) => <Radio.Button key={k} value={k}>{t(`appsSend.to.${k}` as MessageKey)}</Radio.Button>)}
            </Radio.Group>
          </Form.Item>
          {target === 'users' && (
            <Form.Item>
              <MemberPicker id="app-send-users" value={userIds as never} onChange={(v) => setUserIds(v as number[])} placeholder={t('appsSend.to.usersPlaceholder')} />
            </Form.Item>
          )}
          {target === 'depts' && (
            <Form.Item>
              <DeptPicker id="app-send-depts" multiple value={deptIds as never} onChange={(v) => setDeptIds((Array.isArray(v) ? v : v === null ? [] : [v]) as number[])} placeholder={t('appsSend.to.deptsPlaceholder')} />
            </Form.Item>
          )}
          {target === 'all' && <Alert type="info" showIcon message={t('appsSend.to.allHint')} style={{ marginBottom: 16 }} />}
          <Form.Item label={t('appsSend.type')}>
            <Radio.Group id="app-send-type" value={type} onChange={(e) => setType(e.target.value as MsgType)}>
              {TYPES.map((k) => <Radio.Button key={k} value={k}>{t(`appsSend.type.${k}` as MessageKey)}</Radio.Button>)}
            </Radio.Group>
          </Form.Item>
          {type === 'text' && (
            <Form.Item label={t('appsSend.content')} extra={t('appsSend.contentHint')}>
              <Input.TextArea id="app-send-text" rows={5} maxLength={600} showCount value={content} onChange={(e) => setContent(e.target.value)} />
            </Form.Item>
          )}
          {(type === 'image' || type === 'file') && (
            <Form.Item label={t(`appsSend.type.${type}` as MessageKey)}>
              <MediaButton appId={appId} type={type} id="app-send-media" value={media && media.type === type ? media : null} onChange={setMedia} />
            </Form.Item>
          )}
          {type === 'link' && (
            <>
              <Form.Item label={t('appsSend.title')} required>
                <Input id="app-send-link-title" maxLength={64} value={link.title} onChange={(e) => setLink({ ...link, title: e.target.value })} />
              </Form.Item>
              <Form.Item label={t('appsSend.url')} required>
                <Input id="app-send-link-url" placeholder="https://" value={link.url} onChange={(e) => setLink({ ...link, url: e.target.value })} />
              </Form.Item>
              <Form.Item>
                <Checkbox id="app-send-link-sso" checked={sso} onChange={(e) => setSso(e.target.checked)}>{t('appsSend.sso')}</Checkbox>
              </Form.Item>
            </>
          )}
          {type === 'mpnews' && itemEditor(true)}
          {type === 'exlink' && itemEditor(false)}
          <Space direction="vertical" style={{ width: '100%', marginTop: 16 }}>
            {!hasTarget && <Typography.Text type="secondary">{t('appsSend.needTarget')}</Typography.Text>}
            <Button id="app-send-submit" type="primary" loading={sending} disabled={!message || !hasTarget || (type !== 'text' && !preview)} onClick={send}>{t('appsSend.send')}</Button>
            {result && (
              <Alert
                id="app-send-result"
                type={result.invalidUsers.length || result.invalidDepts.length || result.outside.length ? 'warning' : 'success'}
                showIcon
                message={t('appsSend.sent', { n: result.delivered })}
                description={[
                  result.invalidUsers.length ? t('appsSend.invalidUsers', { list: result.invalidUsers.join(', ') }) : '',
                  result.invalidDepts.length ? t('appsSend.invalidDepts', { list: result.invalidDepts.join(', ') }) : '',
                  result.outside.length ? t('appsSend.outside', { list: result.outside.join(', ') }) : '',
                ].filter(Boolean).join('；') || undefined}
              />
            )}
            {error && <Alert id="app-send-error" type="error" showIcon message={t('appsSend.failed')} description={error} />}
          </Space>
        </Form>
      </Col>
      <Col xs={24} lg={10}>
        <Typography.Title level={5}>{t('appsSend.preview')}</Typography.Title>
        <Preview view={preview} />
        {previewError && <Typography.Text type="danger">{previewError}</Typography.Text>}
      </Col>
    </Row>
  );
}
