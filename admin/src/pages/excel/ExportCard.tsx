import { App as AntApp, Button, Card, Space, Typography } from 'antd';
import { useEffect, useState } from 'react';
import type { MeView } from '../../../../gateway/src/admin/api-types';
import { errorMessage, fetchMe } from '../../api';
import { useI18n } from '../../i18n';
import { downloadExcel } from './transfer';

/**
 * The organisation export. The gateway exports what the administrator may see
 * (the whole organisation, or their scope's departments and members); it takes
 * no department of its own choosing.
 */
export function ExportCard() {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const [busy, setBusy] = useState(false);
  const [scope, setScope] = useState<MeView['scope'] | undefined>(undefined);
  const [last, setLast] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    fetchMe().then(
      (me) => live && setScope(me.scope),
      () => live && setScope(undefined),
    );
    return () => {
      live = false;
    };
  }, []);

  const run = async () => {
    setBusy(true);
    try {
      const name = await downloadExcel('/export', 'organisation.xlsx');
      setLast(name);
      void message.success(t('excel.export.done', { name }));
    } catch (err) {
      void message.error(t('excel.download.failed', { message: errorMessage(err) }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card id="excel-export-card" title={t('excel.export.title')}>
      <Space direction="vertical" style={{ width: '100%' }}>
        <Typography.Paragraph style={{ marginBottom: 0 }}>{t('excel.export.intro')}</Typography.Paragraph>
        {scope !== undefined && (
          <Typography.Text type="secondary" id="excel-export-scope">
            {scope === null ? t('excel.export.scopeAll') : t('excel.export.scopeDepts', { depts: scope.map((d) => d.path).join('，') })}
          </Typography.Text>
        )}
        <Space>
          <Button id="excel-export" type="primary" loading={busy} onClick={() => void run()}>
            {busy ? t('excel.export.busy') : t('excel.export.button')}
          </Button>
          {last && (
            <Typography.Text type="success" id="excel-export-done">
              {t('excel.export.done', { name: last })}
            </Typography.Text>
          )}
        </Space>
      </Space>
    </Card>
  );
}
