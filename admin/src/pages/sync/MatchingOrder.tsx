import { Button, Checkbox, List, Space } from 'antd';
import { useI18n, type MessageKey } from '../../i18n';
import type { MatchKey } from './types';

const ALL: MatchKey[] = ['account', 'email', 'mobile'];

/**
 * The matching keys in priority order, as a form control: tick the keys to
 * use and move them up or down. `value` holds the ticked keys in order.
 */
export function MatchingOrder({ value = ['account'], onChange }: { value?: MatchKey[]; onChange?: (v: MatchKey[]) => void }) {
  const { t } = useI18n();
  const rows = [...value, ...ALL.filter((k) => !value.includes(k))];
  const move = (k: MatchKey, by: -1 | 1) => {
    const next = [...value];
    const i = next.indexOf(k);
    const j = i + by;
    if (i < 0 || j < 0 || j >= next.length) return;
    [next[i], next[j]] = [next[j]!, next[i]!];
    onChange?.(next);
  };
  const toggle = (k: MatchKey, on: boolean) => {
    const next = on ? [...value, k] : value.filter((x) => x !== k);
    if (next.length > 0) onChange?.(next);
  };
  return (
    <List
      id="sync-matching"
      size="small"
      bordered
      dataSource={rows}
      renderItem={(k) => {
        const i = value.indexOf(k);
        return (
          <List.Item
            data-testid="sync-matching-key"
            data-key={k}
            actions={[
              <Button key="up" size="small" disabled={i <= 0} onClick={() => move(k, -1)} aria-label={t('sync.matching.up')}>
                ↑
              </Button>,
              <Button key="down" size="small" disabled={i < 0 || i >= value.length - 1} onClick={() => move(k, 1)} aria-label={t('sync.matching.down')}>
                ↓
              </Button>,
            ]}
          >
            <Space>
              <Checkbox checked={i >= 0} disabled={i >= 0 && value.length === 1} onChange={(e) => toggle(k, e.target.checked)} />
              <span>{i >= 0 ? `${i + 1}. ` : ''}{t(`sync.matching.${k}` as MessageKey)}</span>
            </Space>
          </List.Item>
        );
      }}
    />
  );
}
