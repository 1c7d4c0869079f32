import { AutoComplete, Button, DatePicker, Form, Input, Select, type FormInstance } from 'antd';
import { useI18n, type MessageKey } from '../../i18n';

/** What GET /log filters on (docs/admin-api-system.md): from inclusive, to exclusive, ms since the epoch. */
export interface LogFilter {
  admin?: number;
  action?: string;
  targetKind?: string;
  targetId?: string;
  from?: number;
  to?: number;
}

/** The range picker's values: only the methods used here, so the page needs no date library of its own. */
interface TimeValue {
  valueOf(): number;
  startOf(unit: 'minute'): TimeValue;
}

export interface FilterValues {
  admin?: number | null;
  action?: string;
  targetKind?: string;
  targetId?: string;
  range?: [TimeValue | null, TimeValue | null] | null;
}

export const TARGET_KINDS = ['user', 'dept', 'group', 'role', 'admin', 'licence', 'settings', 'device'] as const;
const ACTION_PREFIXES = ['member.*', 'dept.*', 'group.*', 'role.*', 'admin.*', 'licence.*', 'settings.*', 'org.*'];
const ACTION_RE = /^[a-z0-9_.-]{1,63}\*?$/;
const MINUTE_MS = 60_000;

/** A bare area name (`member`) means all its actions (`member.*`). */
export function normaliseAction(raw: string | undefined): string | undefined {
  const a = raw?.trim();
  if (!a) return undefined;
  return a.includes('.') || a.endsWith('*') ? a : `${a}.*`;
}

/** Form values to the query; the end of the range includes its whole minute. */
export function toFilter(v: FilterValues): LogFilter {
  const f: LogFilter = {};
  if (v.admin) f.admin = v.admin;
  const action = normaliseAction(v.action);
  if (action) f.action = action;
  if (v.targetKind?.trim()) f.targetKind = v.targetKind.trim();
  if (v.targetId?.trim()) f.targetId = v.targetId.trim();
  const [start, end] = v.range ?? [null, null];
  if (start) f.from = start.startOf('minute').valueOf();
  if (end) f.to = end.startOf('minute').valueOf() + MINUTE_MS;
  return f;
}

export function LogFilters({ form, admins, onApply }: { form: FormInstance<FilterValues>; admins: { id: number; username: string }[]; onApply(f: LogFilter): void }) {
  const { t } = useI18n();
  return (
    <Form<FilterValues> form={form} name="logFilter" layout="inline" onFinish={(v) => onApply(toFilter(v))} style={{ rowGap: 8 }}>
      <Form.Item name="admin">
        <Select
          id="log-filter-admin"
          allowClear
          showSearch
          optionFilterProp="label"
          placeholder={t('logs.filter.adminAll')}
          style={{ width: 180 }}
          options={admins.map((a) => ({ value: a.id, label: a.username }))}
        />
      </Form.Item>
      <Form.Item name="action" rules={[{ validator: async (_r, v: string | undefined) => { if (v?.trim() && !ACTION_RE.test(v.trim())) throw new Error(t('logs.filter.badAction')); } }]}>
        <AutoComplete
          id="log-filter-action"
          allowClear
          style={{ width: 280 }}
          placeholder={t('logs.filter.action')}
          options={ACTION_PREFIXES.map((value) => ({ value }))}
          filterOption={(input, o) => (o?.value as string).startsWith(input.trim())}
        />
      </Form.Item>
      <Form.Item name="targetKind">
        <Select
          id="log-filter-target-kind"
          allowClear
          placeholder={t('logs.filter.targetKind')}
          style={{ width: 140 }}
          options={TARGET_KINDS.map((k) => ({ value: k, label: t(`logs.kind.${k}` as MessageKey) }))}
        />
      </Form.Item>
      <Form.Item name="targetId">
        <Input id="log-filter-target-id" allowClear placeholder={t('logs.filter.targetId')} style={{ width: 140 }} maxLength={64} />
      </Form.Item>
      <Form.Item name="range">
        <DatePicker.RangePicker
          id={{ start: 'log-filter-from', end: 'log-filter-to' }}
          showTime={{ format: 'HH:mm' }}
          format="YYYY-MM-DD HH:mm"
          allowEmpty={[true, true]}
          placeholder={[t('logs.filter.start'), t('logs.filter.end')]}
        />
      </Form.Item>
      <Form.Item>
        <Button id="log-filter-apply" type="primary" htmlType="submit">
          {t('logs.filter.apply')}
        </Button>
      </Form.Item>
      <Form.Item>
        <Button
          id="log-filter-reset"
          onClick={() => {
            form.resetFields();
            onApply({});
          }}
        >
          {t('logs.filter.reset')}
        </Button>
      </Form.Item>
    </Form>
  );
}
