import { Alert, Button, Divider, Form, InputNumber, Space, Tag, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { api, errorMessage } from '../../api';
import { useI18n, type MessageKey } from '../../i18n';
import type { RtxStatusView } from './types';

/** The server's bounds and default (gateway/src/sync/rtx-source.ts). */
export const RTX_DEFAULT_TIMEOUT_SECONDS = 900;
const MIN_TIMEOUT_SECONDS = 10;
const MAX_TIMEOUT_SECONDS = 86_400;
const TIMEOUT_PRESETS = [300, 900, 3600] as const;

export interface RtxForm {
  timeoutSeconds: number;
}

export function rtxFormOf(config: Record<string, unknown> | undefined): RtxForm {
  const v = config?.timeoutSeconds;
  return { timeoutSeconds: typeof v === 'number' ? v : RTX_DEFAULT_TIMEOUT_SECONDS };
}

export function rtxConfigOf(f: RtxForm): Record<string, unknown> {
  return { timeoutSeconds: f.timeoutSeconds };
}

const LINK_COLOR: Record<string, string> = { CONNECTED: 'green', WAITING: 'orange', DISABLED: 'default' };

/**
 * The RTX part of the source form: what a run of it does, the adapter's link
 * now (GET /rtx/status), and how long a run waits for the adapter's snapshot
 * to be applied, with common values. Field names are under `rtx`.
 */
export function RtxFields() {
  const { t } = useI18n();
  const form = Form.useFormInstance();
  const [status, setStatus] = useState<RtxStatusView | null>(null);
  const [statusError, setStatusError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api<RtxStatusView>('GET', '/rtx/status').then(
      (s) => live && setStatus(s),
      (err: unknown) => live && setStatusError(errorMessage(err)),
    );
    return () => {
      live = false;
    };
  }, []);

  return (
    <div id="sync-rtx-fields">
      <Divider orientation="left" plain>
        {t('sync.rtx.title')}
      </Divider>
      <Typography.Paragraph type="secondary">{t('sync.rtx.intro')}</Typography.Paragraph>
      <Form.Item label={t('sync.rtx.link')}>
        <Space id="sync-rtx-link" data-state={status?.state ?? (statusError ? 'unknown' : 'loading')} wrap>
          {status && <Tag color={LINK_COLOR[status.state] ?? 'default'}>{t(`rtx.state.${status.state}` as MessageKey)}</Tag>}
          {status?.adapter && <Typography.Text type="secondary">{t('sync.rtx.adapter', { name: status.adapter.name })}</Typography.Text>}
          {statusError && <Typography.Text type="warning">{t('sync.rtx.linkUnknown', { message: statusError })}</Typography.Text>}
        </Space>
      </Form.Item>
      <Form.Item label={t('sync.rtx.timeout')} extra={t('sync.rtx.timeoutHelp')}>
        <Space wrap>
          <Form.Item
            name={['rtx', 'timeoutSeconds']}
            noStyle
            rules={[{ required: true, type: 'integer', min: MIN_TIMEOUT_SECONDS, max: MAX_TIMEOUT_SECONDS, message: t('sync.rtx.timeoutRule') }]}
          >
            <InputNumber id="sync-rtx-timeout" min={MIN_TIMEOUT_SECONDS} max={MAX_TIMEOUT_SECONDS} precision={0} addonAfter={t('sync.rtx.seconds')} />
          </Form.Item>
          {TIMEOUT_PRESETS.map((s) => (
            <Button key={s} size="small" data-testid={`sync-rtx-timeout-${s}`} onClick={() => form.setFieldValue(['rtx', 'timeoutSeconds'], s)}>
              {t(`sync.rtx.preset.${s}` as MessageKey)}
            </Button>
          ))}
        </Space>
      </Form.Item>
      <Alert type="info" showIcon message={t('sync.rtx.noDry')} style={{ marginBottom: 16 }} />
    </div>
  );
}
