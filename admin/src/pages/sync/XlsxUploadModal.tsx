import { Alert, Button, Modal, Space, Spin, Typography } from 'antd';
import { useCallback, useEffect, useRef, useState } from 'react';
import { errorMessage } from '../../api';
import { useI18n } from '../../i18n';
import { fetchSourceFile, type SourceView, type XlsxFileView } from './types';
import { localFileProblem, uploadSourceFile } from './upload';
import { FilePicker, FileRefusal, FileSummary } from './XlsxFile';

type State =
  | { kind: 'idle' }
  | { kind: 'uploading'; name: string }
  | { kind: 'done'; name: string }
  | { kind: 'refused'; name: string; error: unknown }
  | { kind: 'local'; message: string };

/**
 * "Upload a new spreadsheet" for a spreadsheet source, from its row in the
 * sources list: the current file, a picker that uploads at once (the server
 * checks the whole file before it replaces anything), the rows at fault when
 * it is refused, and "Sync now" once a file was accepted.
 */
export function XlsxUploadModal({ source, onClose, onUploaded, onSyncNow }: { source: SourceView; onClose(): void; onUploaded(): void; onSyncNow(): void }) {
  const { t } = useI18n();
  const [view, setView] = useState<XlsxFileView | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [state, setState] = useState<State>({ kind: 'idle' });
  const live = useRef(true);

  const load = useCallback(async () => {
    try {
      const v = await fetchSourceFile(source.id);
      if (live.current) setView(v);
    } catch (err) {
      if (live.current) setLoadError(errorMessage(err));
    }
  }, [source.id]);

  useEffect(() => {
    live.current = true;
    void load();
    return () => {
      live.current = false;
    };
  }, [load]);

  const upload = async (file: File) => {
    const problem = localFileProblem(file, t);
    if (problem) return setState({ kind: 'local', message: problem });
    setState({ kind: 'uploading', name: file.name });
    try {
      const v = await uploadSourceFile(source.id, file);
      if (!live.current) return;
      setView(v);
      setState({ kind: 'done', name: file.name });
      onUploaded();
    } catch (err) {
      if (live.current) setState({ kind: 'refused', name: file.name, error: err });
    }
  };

  return (
    <Modal
      open
      width={760}
      title={t('sync.upload.title', { name: source.name })}
      onCancel={onClose}
      footer={[
        state.kind === 'done' && (
          <Button key="sync" id="sync-upload-sync-now" type="primary" onClick={onSyncNow} disabled={!source.enabled}>
            {t('sync.upload.syncNow')}
          </Button>
        ),
        <Button key="close" id="sync-upload-close" onClick={onClose}>
          {t('sync.close')}
        </Button>,
      ]}
    >
      <Space direction="vertical" style={{ width: '100%' }} id="sync-upload" data-state={state.kind}>
        {!view && !loadError && <Spin size="small" />}
        {loadError && <Alert type="warning" showIcon message={t('sync.file.loadFailed', { message: loadError })} />}
        {state.kind === 'done' && <Alert id="sync-upload-done" type="success" showIcon message={t('sync.upload.doneHint')} />}
        {state.kind === 'refused' && <FileRefusal name={state.name} error={state.error} />}
        {state.kind === 'local' && <Alert type="error" showIcon message={state.message} />}
        {view && <FileSummary view={view} />}
        {view?.mode === 'folder' && <Typography.Text type="secondary">{t('sync.file.intoFolder', { folder: view.folder, pattern: view.pattern })}</Typography.Text>}
        {state.kind === 'uploading' ? (
          <Spin tip={t('sync.file.uploading')}>
            <div style={{ height: 60 }} />
          </Spin>
        ) : (
          <FilePicker replace={view?.current != null} onFile={(f) => void upload(f)} />
        )}
      </Space>
    </Modal>
  );
}
