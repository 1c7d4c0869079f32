import { Alert, Card, Space, Typography } from 'antd';
import { forwardRef, useEffect, useState } from 'react';
import { api, ApiError, errorMessage } from '../../api';
import { useI18n, type MessageKey } from '../../i18n';
import type { ImportRefusal } from './types';

/** The steps of a restore (docs/backup.md#import), on the appliance with the server stopped. */
export const RESTORE_COMMANDS: { step: MessageKey; command: string }[] = [
  { step: 'backup.restore.step1', command: 'huitong backup verify FILE' },
  { step: 'backup.restore.step2', command: 'systemctl stop huitong' },
  { step: 'backup.restore.step3', command: 'huitong backup import FILE --yes' },
  { step: 'backup.restore.step4', command: 'systemctl start huitong' },
];

/**
 * Restoring replaces the database under the running server, so the console
 * cannot do it: this card says why and gives the commands, with the server's
 * own answer to POST /backup/import (always 409 GW_BACKUP_SERVER_RUNNING).
 * `name` is the archive the administrator picked in the list, if any.
 */
export const RestoreCard = forwardRef<HTMLDivElement, { name: string | null }>(function RestoreCard({ name }, ref) {
  const { t } = useI18n();
  const [server, setServer] = useState<ImportRefusal | null>(null);

  useEffect(() => {
    let live = true;
    api<unknown>('POST', '/backup/import', { body: {} })
      .then(() => undefined)
      .catch((err: unknown) => {
        if (!live) return;
        const details = err instanceof ApiError ? (err.details as { command?: unknown } | undefined) : undefined;
        setServer({
          code: err instanceof ApiError ? err.code : 'NETWORK',
          message: errorMessage(err),
          command: typeof details?.command === 'string' ? details.command : null,
        });
      });
    return () => {
      live = false;
    };
  }, []);

  return (
    <div ref={ref}>
      <Card id="backup-restore-card" title={t('backup.restore.title')} data-name={name ?? ''}>
        <Space direction="vertical" size="middle" style={{ width: '100%' }}>
          <Alert type="warning" showIcon message={t('backup.restore.intro')} />
          <ol id="backup-restore-steps" style={{ listStyle: 'none', paddingInlineStart: 0, margin: 0 }}>
            {RESTORE_COMMANDS.map((c) => (
              <li key={c.command} style={{ marginBottom: 12 }}>
                <Typography.Text>{t(c.step, { name: name ?? t('backup.restore.exampleName') })}</Typography.Text>
                <pre data-testid="backup-restore-command" style={{ margin: '4px 0 0', padding: '8px 12px', background: '#f5f5f5', borderRadius: 6, overflowX: 'auto' }}>
                  <Typography.Text copyable={{ text: c.command }} style={{ fontFamily: 'monospace' }}>
                    {c.command}
                  </Typography.Text>
                </pre>
              </li>
            ))}
          </ol>
          <Typography.Paragraph style={{ marginBottom: 0 }}>{t('backup.restore.after')}</Typography.Paragraph>
          {server && (
            <Alert
              id="backup-restore-server"
              data-code={server.code}
              type="info"
              showIcon
              message={t('backup.restore.server')}
              description={
                <>
                  <div data-testid="backup-restore-server-message">{server.message}</div>
                  {server.command && <code data-testid="backup-restore-server-command">{server.command}</code>}
                </>
              }
            />
          )}
        </Space>
      </Card>
    </div>
  );
});
