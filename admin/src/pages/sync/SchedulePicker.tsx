import { Alert, Input, List, Radio, Space, Spin, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { api, errorMessage } from '../../api';
import { useI18n, type MessageKey } from '../../i18n';
import { formatSlot } from './format';
import { SYNC_API, type SchedulePreview } from './types';

/** Quick choices; anything else is "custom". */
export const SCHEDULE_PRESETS = [
  { key: 'hourly', cron: '0 * * * *' },
  { key: 'daily', cron: '0 2 * * *' },
  { key: 'weekly', cron: '0 3 * * 1' },
] as const;
type Mode = 'none' | (typeof SCHEDULE_PRESETS)[number]['key'] | 'custom';

const PREVIEW_COUNT = 5;
/** Typing pauses this long before the preview is asked for. */
const PREVIEW_DEBOUNCE_MS = 300;

const modeOf = (cron: string | null | undefined): Mode => {
  if (!cron) return 'none';
  return SCHEDULE_PRESETS.find((p) => p.cron === cron.trim())?.key ?? 'custom';
};

/**
 * The schedule of a source: none (manual only), a preset, or a cron
 * expression, with the server's description and the next runs
 * (GET /schedule-preview) shown as it changes. A form control: `value` is the
 * cron expression or null.
 */
export function SchedulePicker({ value, onChange }: { value?: string | null; onChange?: (v: string | null) => void }) {
  const { t, lang } = useI18n();
  const [mode, setMode] = useState<Mode>(() => modeOf(value));
  const [preview, setPreview] = useState<SchedulePreview | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const cron = value?.trim() ?? '';

  // a value set from outside (a kind's preset) shows as its mode; a custom expression being typed stays custom
  useEffect(() => {
    setMode((m) => (m === 'custom' ? m : modeOf(value)));
  }, [value]);

  useEffect(() => {
    setPreview(null);
    setPreviewError(null);
    if (!cron) return;
    let live = true;
    setLoading(true);
    const timer = setTimeout(() => {
      api<SchedulePreview>('GET', `${SYNC_API}/schedule-preview`, { query: { cron, count: PREVIEW_COUNT } })
        .then(
          (p) => live && setPreview(p),
          (err: unknown) => live && setPreviewError(errorMessage(err)),
        )
        .finally(() => live && setLoading(false));
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [cron]);

  const pick = (m: Mode) => {
    setMode(m);
    if (m === 'none') onChange?.(null);
    else if (m !== 'custom') onChange?.(SCHEDULE_PRESETS.find((p) => p.key === m)!.cron);
  };

  return (
    <Space direction="vertical" style={{ width: '100%' }} id="sync-schedule">
      <Radio.Group id="sync-schedule-mode" value={mode} onChange={(e) => pick(e.target.value as Mode)} optionType="button">
        {(['none', 'hourly', 'daily', 'weekly', 'custom'] as const).map((m) => (
          <Radio.Button key={m} value={m} data-testid={`sync-schedule-${m}`}>
            {t(`sync.schedule.${m}` as MessageKey)}
          </Radio.Button>
        ))}
      </Radio.Group>
      {mode !== 'none' && (
        <Input
          id="sync-schedule-cron"
          value={value ?? ''}
          placeholder="0 2 * * *"
          readOnly={mode !== 'custom'}
          onChange={(e) => onChange?.(e.target.value)}
          addonBefore={t('sync.schedule.cron')}
          style={{ fontFamily: 'monospace' }}
        />
      )}
      {mode === 'custom' && <Typography.Text type="secondary">{t('sync.schedule.cronHelp')}</Typography.Text>}
      {mode === 'none' && <Typography.Text type="secondary">{t('sync.schedule.manualOnly')}</Typography.Text>}
      {cron && (
        <div id="sync-schedule-preview" data-valid={preview ? String(preview.valid) : undefined}>
          {loading && !preview && <Spin size="small" />}
          {previewError && <Alert type="warning" showIcon message={previewError} />}
          {preview && !preview.valid && <Alert id="sync-schedule-problem" type="error" showIcon message={t('sync.schedule.invalid')} description={preview.problem} />}
          {preview?.valid && (
            <List
              size="small"
              bordered
              header={
                <Typography.Text strong id="sync-schedule-text">
                  {preview.text ? preview.text[lang] : cron}
                </Typography.Text>
              }
              dataSource={preview.next}
              locale={{ emptyText: t('sync.schedule.noNext') }}
              renderItem={(ms, i) => (
                <List.Item data-testid="sync-schedule-next" data-at={String(ms)}>
                  {t('sync.schedule.nextN', { n: i + 1 })} {formatSlot(ms, lang)}
                </List.Item>
              )}
            />
          )}
        </div>
      )}
    </Space>
  );
}
