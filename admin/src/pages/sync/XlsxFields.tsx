import { Alert, Button, Divider, Form, Input, InputNumber, Radio, Space, Spin, Typography } from 'antd';
import { useEffect, useRef } from 'react';
import { useI18n, type MessageKey } from '../../i18n';
import type { XlsxFileView } from './types';
import { formatBytes } from './upload';
import { MAX_SETTLE_SECONDS, PATTERN_RE, XLSX_PRESETS, type XlsxForm, type XlsxPresetKey } from './xlsx';
import { FilePicker, FileRefusal, FileSummary } from './XlsxFile';

/** A file chosen in the form: uploaded when the source is saved. */
export interface PendingFile {
  file: File;
  /** The console's own check refused it (wrong extension, empty, too large). */
  problem: string | null;
}

const EXAMPLE_FOLDER = '/srv/huitong-import';

/**
 * The spreadsheet part of the source form: how the file reaches the server
 * (uploaded in the console, or dropped into a folder by another system) with
 * common set-ups, the folder's pattern, what happens to a file after a sync
 * and how long to wait for a copy to finish; then the current file (name,
 * size, upload time, rows, whether it passes) and a picker for a new one,
 * uploaded when the form is saved. Field names are under `xlsx`.
 */
export function XlsxFields({
  file,
  fileLoading,
  fileError,
  pending,
  refusal,
  onPending,
}: {
  file: XlsxFileView | null;
  fileLoading: boolean;
  fileError: string | null;
  pending: PendingFile | null;
  refusal: { name: string; error: unknown } | null;
  onPending(p: File | null): void;
}) {
  const { t } = useI18n();
  const form = Form.useFormInstance();
  const mode = (Form.useWatch(['xlsx', 'mode'], form) as XlsxForm['mode'] | undefined) ?? 'upload';
  const pattern = (Form.useWatch(['xlsx', 'pattern'], form) as string | undefined) ?? '*.xlsx';
  const folder = (Form.useWatch(['xlsx', 'folder'], form) as string | undefined) ?? '';
  const refusalRef = useRef<HTMLDivElement>(null);

  // a refused upload is far down the drawer: bring the rows at fault into view
  useEffect(() => {
    if (refusal) refusalRef.current?.scrollIntoView({ block: 'nearest' });
  }, [refusal]);

  const fillPreset = (key: XlsxPresetKey) => {
    const p = XLSX_PRESETS[key];
    const current = form.getFieldValue('xlsx') as XlsxForm;
    const nextFolder = p.form.mode === 'folder' ? current.folder?.trim() || EXAMPLE_FOLDER : current.folder;
    form.setFieldsValue({ xlsx: { ...current, ...p.form, folder: nextFolder }, schedule: p.schedule });
  };

  return (
    <div id="sync-xlsx-fields">
      <Divider orientation="left" plain>
        {t('sync.xlsx.source')}
      </Divider>
      <Form.Item label={t('sync.xlsx.presets')}>
        <Space wrap>
          {(Object.keys(XLSX_PRESETS) as XlsxPresetKey[]).map((k) => (
            <Button key={k} size="small" data-testid={`sync-xlsx-preset-${k}`} onClick={() => fillPreset(k)}>
              {t(`sync.xlsx.preset.${k}` as MessageKey)}
            </Button>
          ))}
        </Space>
      </Form.Item>
      <Form.Item name={['xlsx', 'mode']} label={t('sync.xlsx.mode')} extra={mode === 'upload' ? t('sync.xlsx.modeHelp.upload') : t('sync.xlsx.modeHelp.folder')}>
        <Radio.Group id="sync-xlsx-mode">
          <Space direction="vertical">
            <Radio value="upload" data-testid="sync-xlsx-mode-upload">
              {t('sync.xlsx.mode.upload')}
            </Radio>
            <Radio value="folder" data-testid="sync-xlsx-mode-folder">
              {t('sync.xlsx.mode.folder')}
            </Radio>
          </Space>
        </Radio.Group>
      </Form.Item>
      {mode === 'folder' && (
        <>
          <Form.Item
            name={['xlsx', 'folder']}
            label={t('sync.xlsx.folder')}
            extra={t('sync.xlsx.folderHelp')}
            rules={[
              { required: true, message: t('sync.required') },
              { pattern: /^\/\S/, message: t('sync.xlsx.folderRule') },
              { max: 1024 },
            ]}
          >
            <Input id="sync-xlsx-folder" placeholder={EXAMPLE_FOLDER} style={{ fontFamily: 'monospace' }} />
          </Form.Item>
          <Form.Item name={['xlsx', 'pattern']} label={t('sync.xlsx.pattern')} extra={t('sync.xlsx.patternHelp')} rules={[{ required: true, pattern: PATTERN_RE, message: t('sync.xlsx.patternRule') }]}>
            <Input id="sync-xlsx-pattern" placeholder="*.xlsx" maxLength={64} style={{ fontFamily: 'monospace' }} />
          </Form.Item>
          <Form.Item name={['xlsx', 'after']} label={t('sync.xlsx.after')} extra={t('sync.xlsx.afterHelp')}>
            <Radio.Group id="sync-xlsx-after">
              <Radio value="archive">{t('sync.xlsx.after.archive')}</Radio>
              <Radio value="keep">{t('sync.xlsx.after.keep')}</Radio>
            </Radio.Group>
          </Form.Item>
          <Form.Item name={['xlsx', 'settleSeconds']} label={t('sync.xlsx.settle')} extra={t('sync.xlsx.settleHelp')} rules={[{ required: true, type: 'number', min: 0, max: MAX_SETTLE_SECONDS }]}>
            <InputNumber id="sync-xlsx-settle" min={0} max={MAX_SETTLE_SECONDS} precision={0} addonAfter={t('sync.xlsx.seconds')} />
          </Form.Item>
        </>
      )}
      <Alert type="info" showIcon style={{ marginBottom: 16 }} message={t('sync.xlsx.template')} description={t('sync.xlsx.badFileNote')} />

      <Divider orientation="left" plain>
        {t('sync.file.title')}
      </Divider>
      <Space direction="vertical" style={{ width: '100%' }} id="sync-xlsx-file">
        {fileLoading && <Spin size="small" />}
        {fileError && <Alert type="warning" showIcon message={t('sync.file.loadFailed', { message: fileError })} />}
        {file && <FileSummary view={file} />}
        {refusal && (
          <div ref={refusalRef}>
            <FileRefusal name={refusal.name} error={refusal.error} />
          </div>
        )}
        {pending && (
          <Alert
            id="sync-file-pending"
            type={pending.problem ? 'error' : 'info'}
            showIcon
            message={pending.problem ?? t('sync.file.pending', { name: pending.file.name, size: formatBytes(pending.file.size) })}
            action={
              <Button size="small" id="sync-file-pending-clear" onClick={() => onPending(null)}>
                {t('sync.file.pendingClear')}
              </Button>
            }
          />
        )}
        {mode === 'folder' && (
          <Typography.Text type="secondary">{t('sync.file.intoFolder', { folder: folder.trim() || EXAMPLE_FOLDER, pattern: pattern.trim() || '*.xlsx' })}</Typography.Text>
        )}
        <FilePicker replace={file?.current != null} onFile={(f) => onPending(f)} />
      </Space>
    </div>
  );
}
