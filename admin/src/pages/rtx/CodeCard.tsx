import { Alert, App as AntApp, Button, Card, Space, Typography } from 'antd';
import { useRef, useState } from 'react';
import { api, errorMessage } from '../../api';
import { useI18n } from '../../i18n';
import { formatTime } from './ConnectionCard';
import type { RtxCode } from './types';

const MASK = '••••-••••-••••-••••';

/**
 * The connection code: hidden until asked for (it is fetched only then),
 * copied to the clipboard, or regenerated after a confirm. It is a secret:
 * never logged, never kept beyond this card.
 */
export function CodeCard({ onRegenerated }: { onRegenerated?(): void }) {
  const { t, lang } = useI18n();
  const { message, modal } = AntApp.useApp();
  const [code, setCode] = useState<RtxCode | null>(null);
  const [shown, setShown] = useState(false);
  const [busy, setBusy] = useState<'show' | 'copy' | 'regenerate' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const textRef = useRef<HTMLSpanElement>(null);

  const load = async (): Promise<RtxCode> => {
    if (code) return code;
    const c = await api<RtxCode>('GET', '/rtx/code');
    setCode(c);
    return c;
  };

  const toggle = async () => {
    if (shown) return setShown(false);
    setBusy('show');
    try {
      await load();
      setShown(true);
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  };

  /** Puts the code on screen and selects it, for a manual copy. */
  const selectText = () => {
    const el = textRef.current;
    const sel = window.getSelection();
    if (!el || !sel) return;
    const range = document.createRange();
    range.selectNodeContents(el);
    sel.removeAllRanges();
    sel.addRange(range);
  };

  const copy = async () => {
    setBusy('copy');
    let c: RtxCode;
    try {
      c = await load();
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
      setBusy(null);
      return;
    }
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(c.code);
      void message.success(t('rtx.code.copied'));
    } catch {
      // the clipboard needs a secure context and permission: let the administrator copy by hand
      setShown(true);
      requestAnimationFrame(selectText);
      void message.info(t('rtx.code.copyManual'));
    } finally {
      setBusy(null);
    }
  };

  const regenerate = () => {
    modal.confirm({
      title: t('rtx.code.regenerateTitle'),
      content: t('rtx.code.regenerateBody'),
      okText: t('rtx.code.regenerateOk'),
      okButtonProps: { danger: true, id: 'rtx-code-regenerate-ok' },
      cancelText: t('rtx.cancel'),
      onOk: async () => {
        setBusy('regenerate');
        try {
          setCode(await api<RtxCode>('POST', '/rtx/code', { body: {} }));
          setError(null);
          void message.success(t('rtx.code.regenerated'));
          onRegenerated?.();
        } catch (err) {
          setError(errorMessage(err));
        } finally {
          setBusy(null);
        }
      },
    });
  };

  return (
    <Card id="rtx-code-card" title={t('rtx.code.title')}>
      <Space direction="vertical" size="middle" style={{ width: '100%' }}>
        <Typography.Text type="secondary">{t('rtx.code.intro')}</Typography.Text>
        {error && <Alert type="error" showIcon message={error} closable onClose={() => setError(null)} />}
        <Space wrap align="center">
          <span
            id="rtx-code"
            ref={textRef}
            data-shown={shown ? 'true' : 'false'}
            style={{ fontFamily: 'monospace', fontSize: 20, letterSpacing: 1, padding: '4px 12px', background: '#fafafa', border: '1px solid #f0f0f0', borderRadius: 6, userSelect: 'all' }}
          >
            {shown && code ? code.code : MASK}
          </span>
          <Button id="rtx-code-toggle" loading={busy === 'show'} onClick={() => void toggle()}>
            {shown ? t('rtx.code.hide') : t('rtx.code.show')}
          </Button>
          <Button id="rtx-code-copy" loading={busy === 'copy'} onClick={() => void copy()}>
            {t('rtx.code.copy')}
          </Button>
          <Button id="rtx-code-regenerate" danger loading={busy === 'regenerate'} onClick={regenerate}>
            {t('rtx.code.regenerate')}
          </Button>
        </Space>
        {code && shown && (
          <Typography.Text type="secondary" id="rtx-code-created">
            {t('rtx.code.createdAt', { time: formatTime(code.createdAt, lang) })}
          </Typography.Text>
        )}
      </Space>
    </Card>
  );
}
