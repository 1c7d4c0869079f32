import { Alert, Button, Card, Checkbox, Col, Form, Input, Modal, Radio, Row, Space, Typography } from 'antd';
import { useEffect, useRef, useState } from 'react';
import type { BroadcastPreviewView, BroadcastSentView } from '../../../../gateway/src/admin/routes-broadcast';
import type { SysmsgBody } from '../../../../gateway/src/protocol/client-v1';
import { api, errorMessage } from '../../api';
import { DeptPicker } from '../../components/DeptPicker';
import { useI18n, type MessageKey } from '../../i18n';
import { PeoplePicker } from '../apps/PeoplePicker';

type TargetKind = 'all' | 'depts' | 'users';
interface Link { title: string; url: string }
const MAX_LINKS = 5;
const PREVIEW_DEBOUNCE_MS = 300;

/** The system message as clients show it. */
export function SysmsgPreview({ body, id }: { body: SysmsgBody; id?: string }) {
  const { t } = useI18n();
  return (
    <Card size="small" id={id} title={body.title}>
      <Space direction="vertical" style={{ width: '100%' }}>
        {body.items.map((it, n) =>
          'text' in it
            ? <Typography.Paragraph key={n} style={{ whiteSpace: 'pre-wrap', margin: 0 }}>{it.text}</Typography.Paragraph>
            : <Typography.Link key={n} href={it.link.url} target="_blank" rel="noreferrer">{it.link.title}</Typography.Link>,
        )}
        {body.from && <Typography.Text type="secondary">{t('broadcast.from', { name: body.from.name })}</Typography.Text>}
      </Space>
    </Card>
  );
}

/**
 * Composing a broadcast: who it goes to (everyone, departments with their
 * subdepartments, people), online only, a title, a text and links. The
 * server's preview (POST /broadcast/preview) shows the message and how many
 * people it reaches now; sending asks for confirmation with that count.
 */
export function ComposePanel() {
  const { t } = useI18n();
  const [target, setTarget] = useState<TargetKind>('depts');
  const [deptIds, setDeptIds] = useState<number[]>([]);
  const [userIds, setUserIds] = useState<number[]>([]);
  const [onlineOnly, setOnlineOnly] = useState(false);
  const [title, setTitle] = useState('');
  const [text, setText] = useState('');
  const [links, setLinks] = useState<Link[]>([]);
  const [preview, setPreview] = useState<BroadcastPreviewView | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const [result, setResult] = useState<BroadcastSentView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const seq = useRef(0);

  const targets = target === 'all' ? { all: true } : target === 'depts' ? { deptIds } : { userIds };
  const hasTarget = target === 'all' || (target === 'depts' ? deptIds.length > 0 : userIds.length > 0);
  const filledLinks = links.filter((l) => l.url.trim());
  const hasContent = title.trim() !== '' && (text.trim() !== '' || filledLinks.length > 0);
  const content = hasContent ? { title: title.trim(), ...(text.trim() ? { text } : {}), ...(filledLinks.length ? { links: filledLinks.map((l) => ({ title: l.title.trim(), url: l.url.trim() })) } : {}) } : null;
  const key = JSON.stringify({ targets, onlineOnly, content, hasTarget });

  useEffect(() => {
    const mine = ++seq.current;
    if (!hasTarget) {
      setPreview(null);
      setPreviewError(null);
      return;
    }
    const timer = setTimeout(() => {
      api<BroadcastPreviewView>('POST', '/broadcast/preview', { body: { targets, onlineOnly, ...(content ? { content } : {}) } }).then(
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
    // compared by their JSON (`key`)
  }, [key]);

  const doSend = async () => {
    if (!content) return;
    setSending(true);
    setError(null);
    setResult(null);
    try {
      setResult(await api<BroadcastSentView>('POST', '/broadcast/send', { body: { content, targets, onlineOnly } }));
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setSending(false);
    }
  };
  const send = () => {
    Modal.confirm({
      title: t('broadcast.confirm', { n: preview?.reach ?? 0, title: title.trim() }),
      okText: t('broadcast.confirmOk'),
      okButtonProps: { id: 'broadcast-confirm-ok' },
      onOk: doSend,
    });
  };
  const setLink = (n: number, patch: Partial<Link>) => setLinks(links.map((l, i) => (i === n ? { ...l, ...patch } : l)));

  return (
    <Row gutter={24}>
      <Col xs={24} lg={14}>
        <Form layout="vertical">
          <Form.Item label={t('broadcast.to')}>
            <Radio.Group id="broadcast-target" value={target} onChange={(e) => setTarget(e.target.value as TargetKind)}>
              {(['depts', 'users', 'all'] as const).map((k) => <Radio.Button key={k} value={k}>{t(`broadcast.to.${k}` as MessageKey)}</Radio.Button>)}
            </Radio.Group>
          </Form.Item>
          {target === 'depts' && (
            <Form.Item extra={t('broadcast.to.deptsHint')}>
              <DeptPicker id="broadcast-depts" multiple value={deptIds as never} onChange={(v) => setDeptIds((Array.isArray(v) ? v : v === null ? [] : [v]) as number[])} placeholder={t('broadcast.to.deptsPlaceholder')} />
            </Form.Item>
          )}
          {target === 'users' && (
            <Form.Item>
              <PeoplePicker id="broadcast-users" path="/broadcast/people" known={[]} value={userIds as never} onChange={(v) => setUserIds(v as number[])} />
            </Form.Item>
          )}
          <Form.Item extra={t('broadcast.onlineOnlyHint')}>
            <Checkbox id="broadcast-online-only" checked={onlineOnly} onChange={(e) => setOnlineOnly(e.target.checked)}>{t('broadcast.onlineOnly')}</Checkbox>
          </Form.Item>
          <Form.Item label={t('broadcast.title')} required>
            <Input id="broadcast-title" maxLength={64} showCount value={title} onChange={(e) => setTitle(e.target.value)} />
          </Form.Item>
          <Form.Item label={t('broadcast.text')}>
            <Input.TextArea id="broadcast-text" rows={5} maxLength={2000} showCount value={text} onChange={(e) => setText(e.target.value)} />
          </Form.Item>
          <Form.Item label={t('broadcast.links')}>
            <Space direction="vertical" style={{ width: '100%' }}>
              {links.map((l, n) => (
                <Space.Compact key={n} style={{ width: '100%' }}>
                  <Input id={`broadcast-link-${n}-title`} style={{ width: '35%' }} maxLength={64} placeholder={t('broadcast.linkTitle')} value={l.title} onChange={(e) => setLink(n, { title: e.target.value })} />
                  <Input id={`broadcast-link-${n}-url`} placeholder={t('broadcast.linkUrl')} value={l.url} onChange={(e) => setLink(n, { url: e.target.value })} />
                  <Button onClick={() => setLinks(links.filter((_, i) => i !== n))}>{t('broadcast.remove')}</Button>
                </Space.Compact>
              ))}
              {links.length < MAX_LINKS && <Button id="broadcast-add-link" onClick={() => setLinks([...links, { title: '', url: '' }])}>{t('broadcast.addLink')}</Button>}
            </Space>
          </Form.Item>
          <Space direction="vertical" style={{ width: '100%' }}>
            {!hasTarget && <Typography.Text type="secondary">{t('broadcast.needTarget')}</Typography.Text>}
            <Button id="broadcast-submit" type="primary" loading={sending} disabled={!content || !hasTarget || !preview || preview.reach === 0} onClick={send}>{t('broadcast.send')}</Button>
            {result && <Alert id="broadcast-result" type="success" showIcon message={t('broadcast.sent', { n: result.reached })} />}
            {error && <Alert id="broadcast-error" type="error" showIcon message={t('broadcast.failed')} description={error} />}
          </Space>
        </Form>
      </Col>
      <Col xs={24} lg={10}>
        <Typography.Title level={5}>{t('broadcast.preview')}</Typography.Title>
        {preview && (
          <Typography.Paragraph id="broadcast-reach" strong>
            {preview.reach > 0 ? t('broadcast.reach', { n: preview.reach }) : t('broadcast.reachNone')}
          </Typography.Paragraph>
        )}
        {preview?.body ? <SysmsgPreview id="broadcast-preview" body={preview.body} /> : <Typography.Text type="secondary">{t('broadcast.previewEmpty')}</Typography.Text>}
        {previewError && <Typography.Paragraph type="danger" id="broadcast-preview-error">{previewError}</Typography.Paragraph>}
      </Col>
    </Row>
  );
}
