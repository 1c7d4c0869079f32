import { Descriptions } from 'antd';
import { useI18n, type MessageKey } from '../../i18n';
import { formatBytes, type BackupCounts } from './types';

const KEYS: (keyof BackupCounts)[] = ['users', 'departments', 'groups', 'messages', 'files', 'fileBytes'];

/** What an archive holds (its manifest's counts); each value carries data-key. */
export function CountsList({ id, counts }: { id: string; counts: BackupCounts }) {
  const { t, lang } = useI18n();
  const nf = new Intl.NumberFormat(lang === 'zh' ? 'zh-CN' : 'en-GB');
  return (
    <Descriptions
      id={id}
      size="small"
      bordered
      column={3}
      items={KEYS.map((k) => ({
        key: k,
        label: t(`backup.count.${k}` as MessageKey),
        children: (
          <span data-testid="backup-count" data-key={k} data-value={String(counts[k])}>
            {k === 'fileBytes' ? formatBytes(counts[k]) : nf.format(counts[k])}
          </span>
        ),
      }))}
    />
  );
}
