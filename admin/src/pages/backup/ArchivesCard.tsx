import { Alert, App as AntApp, Button, Card, Space, Table, Tag, Typography } from 'antd';
import { useState, type HTMLAttributes } from 'react';
import { errorMessage } from '../../api';
import { useI18n } from '../../i18n';
import { downloadArchive } from './transfer';
import { formatBytes, type BackupArchiveView, type BackupJobView } from './types';
import { VerifyPanel } from './VerifyPanel';

/** The newest verification of this archive as it is now (one started before the file was last written says nothing about it). */
export function lastVerify(jobs: BackupJobView[], a: BackupArchiveView): BackupJobView | null {
  return jobs.find((j) => j.kind === 'verify' && j.name === a.name && j.startedAt >= a.modifiedAt) ?? null;
}

function CheckTag({ job }: { job: BackupJobView | null }) {
  const { t } = useI18n();
  const state = job?.state ?? 'none';
  const [color, label] =
    state === 'running' ? ['processing', t('backup.check.running')] : state === 'done' ? ['green', t('backup.check.ok')] : state === 'failed' ? ['red', t('backup.check.bad')] : ['default', t('backup.check.none')];
  return (
    <Tag color={color} data-testid="backup-check" data-state={state}>
      {label}
    </Tag>
  );
}

/**
 * The archives in dataDir/backups, newest first: download, verify (its
 * result below the table), restore (the steps) and delete after a confirm.
 */
export function ArchivesCard(props: {
  archives: BackupArchiveView[] | null;
  error: string | null;
  jobs: BackupJobView[];
  /** The verification shown below the table. */
  shown: BackupJobView | null;
  busy: boolean;
  onReload(): void;
  onVerify(name: string): void;
  onDelete(name: string): Promise<void>;
  onRestore(name: string): void;
}) {
  const { archives, error, jobs, shown, busy } = props;
  const { t, lang } = useI18n();
  const { message, modal } = AntApp.useApp();
  const [downloading, setDownloading] = useState<string | null>(null);

  const download = async (name: string) => {
    setDownloading(name);
    try {
      await downloadArchive(name);
    } catch (err) {
      void message.error(t('backup.downloadFailed', { message: errorMessage(err) }));
    } finally {
      setDownloading(null);
    }
  };

  const confirmDelete = (name: string) => {
    modal.confirm({
      title: t('backup.delete.title', { name }),
      content: t('backup.delete.content'),
      okText: t('backup.delete.ok'),
      cancelText: t('backup.delete.cancel'),
      okButtonProps: { danger: true, id: 'backup-delete-confirm' },
      cancelButtonProps: { id: 'backup-delete-cancel' },
      onOk: () => props.onDelete(name),
    });
  };

  return (
    <Card
      id="backup-list-card"
      title={t('backup.list.title')}
      extra={
        <Button id="backup-list-refresh" size="small" onClick={props.onReload}>
          {t('backup.refresh')}
        </Button>
      }
    >
      <Space direction="vertical" size="middle" style={{ width: '100%' }}>
        {error && <Alert id="backup-list-error" type="error" showIcon message={t('backup.list.loadFailed')} description={error} />}
        <div id="backup-archives">
          <Table<BackupArchiveView>
            rowKey="name"
            size="small"
            loading={archives === null && !error}
            dataSource={archives ?? []}
            pagination={false}
            locale={{ emptyText: <span id="backup-list-empty">{t('backup.list.empty')}</span> }}
            onRow={(r) => ({ 'data-testid': 'backup-archive', 'data-name': r.name, 'data-bytes': String(r.bytes) }) as HTMLAttributes<HTMLElement>}
            columns={[
              { key: 'name', title: t('backup.col.name'), render: (_, r) => <Typography.Text data-testid="backup-archive-name">{r.name}</Typography.Text> },
              {
                key: 'size',
                title: t('backup.col.size'),
                render: (_, r) => (
                  <span data-testid="backup-archive-size" title={t('backup.bytes', { n: r.bytes })}>
                    {formatBytes(r.bytes)}
                    <br />
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                      {t('backup.bytes', { n: r.bytes })}
                    </Typography.Text>
                  </span>
                ),
              },
              { key: 'created', title: t('backup.col.created'), render: (_, r) => new Date(r.modifiedAt).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB') },
              { key: 'check', title: t('backup.col.check'), render: (_, r) => <CheckTag job={lastVerify(jobs, r)} /> },
              {
                key: 'actions',
                title: t('backup.col.actions'),
                render: (_, r) => (
                  <Space size="small" wrap>
                    <Button size="small" data-testid="backup-download" loading={downloading === r.name} onClick={() => void download(r.name)}>
                      {t('backup.download')}
                    </Button>
                    <Button size="small" data-testid="backup-verify" disabled={busy} onClick={() => props.onVerify(r.name)}>
                      {t('backup.verify')}
                    </Button>
                    <Button size="small" data-testid="backup-restore" onClick={() => props.onRestore(r.name)}>
                      {t('backup.restore.for')}
                    </Button>
                    <Button size="small" danger data-testid="backup-delete" onClick={() => confirmDelete(r.name)}>
                      {t('backup.delete')}
                    </Button>
                  </Space>
                ),
              },
            ]}
          />
        </div>
        {shown && <VerifyPanel job={shown} />}
      </Space>
    </Card>
  );
}
