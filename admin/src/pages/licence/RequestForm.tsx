import { Alert, Button, Card, DatePicker, Form, Input, InputNumber, Radio, Space, Typography } from 'antd';
import { useState } from 'react';
import type { LicenceRequest, LicenceStatus } from '../../../../gateway/src/admin/api-types-system';
import { api, errorMessage } from '../../api';
import { useI18n } from '../../i18n';
import { saveTextFile } from './download';
import { todayLocal } from './warnings';

/** The date pickers' values: only the method used here, so the page needs no date library of its own. */
interface DayValue {
  format(template: string): string;
}

interface Values {
  kind: 'expand' | 'renew';
  company?: string;
  contactName?: string;
  phone?: string;
  email?: string;
  seats?: number | null;
  expiresAt?: DayValue | null;
  note?: string;
}

const PHONE_RE = /^\+?[0-9][0-9 ()-]{4,30}$/;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_NOTE_CHARS = 2000;

/** The server's name for the file (routes-system.ts sets the same in Content-Disposition). */
export function requestFileName(r: Pick<LicenceRequest, 'kind' | 'createdAt'>): string {
  return `huitong-licence-request-${r.kind}-${r.createdAt.slice(0, 10)}.json`;
}

const trimmed = (v: string | undefined) => (v && v.trim() ? v.trim() : undefined);

/**
 * The expansion/renewal request (F-9.1): POST /licence/request makes the
 * request file, which the browser downloads for the administrator to send to
 * the vendor. A trial asks for its first licence as an expansion with a company.
 */
export function RequestForm({ status }: { status: LicenceStatus }) {
  const { t } = useI18n();
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [made, setMade] = useState<{ name: string; text: string } | null>(null);
  const trial = status.state === 'trial';
  const kind = Form.useWatch('kind', form) ?? 'expand';
  const today = todayLocal();
  const minExpiry = kind === 'renew' && status.expiresAt && status.expiresAt > today ? status.expiresAt : today;

  const submit = async (v: Values) => {
    setError(null);
    setBusy(true);
    try {
      const body = {
        kind: v.kind,
        seats: v.seats ?? undefined,
        expiresAt: v.expiresAt ? v.expiresAt.format('YYYY-MM-DD') : undefined,
        company: trimmed(v.company),
        contact: { name: (v.contactName ?? '').trim(), phone: trimmed(v.phone), email: trimmed(v.email) },
        note: trimmed(v.note),
      };
      const request = await api<LicenceRequest>('POST', '/licence/request', { body });
      const file = { name: requestFileName(request), text: `${JSON.stringify(request, null, 2)}\n` };
      setMade(file);
      saveTextFile(file.name, file.text);
    } catch (err) {
      setMade(null);
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const required = (field: string) => ({ required: true, whitespace: true, message: t('licence.request.required', { field }) });

  return (
    <Card title={t('licence.request.title')} size="small" id="licence-request">
      <Typography.Paragraph type="secondary">{t('licence.request.intro')}</Typography.Paragraph>
      <Form<Values>
        form={form}
        name="licenceRequest"
        layout="vertical"
        style={{ maxWidth: 560 }}
        initialValues={{ kind: 'expand', company: status.company ?? '' }}
        onFinish={(v) => void submit(v)}
        onValuesChange={() => setError(null)}
      >
        <Form.Item name="kind" label={t('licence.request.kind')}>
          <Radio.Group
            id="licence-request-kind"
            options={[
              { value: 'expand', label: trial ? t('licence.request.first') : t('licence.request.expand') },
              { value: 'renew', label: t('licence.request.renew'), disabled: trial },
            ]}
          />
        </Form.Item>
        <Form.Item name="company" label={t('licence.request.company')} rules={trial ? [required(t('licence.request.company'))] : []}>
          <Input maxLength={128} />
        </Form.Item>
        <Space size="large" wrap>
          <Form.Item
            name="seats"
            label={t('licence.request.seats')}
            extra={t('licence.request.seatsHint', { seats: status.seats })}
            dependencies={['kind']}
            rules={[
              { required: kind === 'expand', message: t('licence.request.required', { field: t('licence.request.seats') }) },
              {
                validator: async (_r, v: number | null | undefined) => {
                  if (v !== null && v !== undefined && !trial && kind === 'expand' && v <= status.seats) throw new Error(t('licence.request.moreSeats', { seats: status.seats }));
                },
              },
            ]}
          >
            <InputNumber min={1} max={1_000_000} precision={0} style={{ width: 180 }} />
          </Form.Item>
          <Form.Item
            name="expiresAt"
            label={t('licence.request.expiresAt')}
            extra={kind === 'expand' ? t('licence.request.expiresOptional') : undefined}
            dependencies={['kind']}
            rules={[{ required: kind === 'renew', message: t('licence.request.required', { field: t('licence.request.expiresAt') }) }]}
          >
            <DatePicker format="YYYY-MM-DD" placeholder="YYYY-MM-DD" style={{ width: 180 }} disabledDate={(d) => d.format('YYYY-MM-DD') <= minExpiry} />
          </Form.Item>
        </Space>
        <Form.Item name="contactName" label={t('licence.request.contactName')} rules={[required(t('licence.request.contactName'))]}>
          <Input maxLength={64} />
        </Form.Item>
        <Space size="large" wrap>
          <Form.Item
            name="phone"
            label={t('licence.request.phone')}
            dependencies={['email']}
            rules={[
              ({ getFieldValue }) => ({
                validator: async (_r, v: string | undefined) => {
                  if (!trimmed(v) && !trimmed(getFieldValue('email') as string | undefined)) throw new Error(t('licence.request.contactNeeded'));
                  if (trimmed(v) && !PHONE_RE.test(v!.trim())) throw new Error(t('licence.request.badPhone'));
                },
              }),
            ]}
          >
            <Input maxLength={32} style={{ width: 240 }} />
          </Form.Item>
          <Form.Item
            name="email"
            label={t('licence.request.email')}
            dependencies={['phone']}
            rules={[
              {
                validator: async (_r, v: string | undefined) => {
                  if (trimmed(v) && !EMAIL_RE.test(v!.trim())) throw new Error(t('licence.request.badEmail'));
                },
              },
            ]}
          >
            <Input maxLength={254} style={{ width: 260 }} />
          </Form.Item>
        </Space>
        <Form.Item name="note" label={t('licence.request.note')}>
          <Input.TextArea maxLength={MAX_NOTE_CHARS} showCount autoSize={{ minRows: 2, maxRows: 6 }} />
        </Form.Item>
        {error && <Alert data-testid="licence-request-error" type="error" showIcon message={error} style={{ marginBottom: 16 }} />}
        {made && (
          <Alert
            data-testid="licence-request-result"
            type="success"
            showIcon
            style={{ marginBottom: 16 }}
            message={t('licence.request.done', { file: made.name })}
            action={
              <Button size="small" onClick={() => saveTextFile(made.name, made.text)}>
                {t('licence.request.again')}
              </Button>
            }
          />
        )}
        <Button id="licence-request-submit" type="primary" htmlType="submit" loading={busy}>
          {t('licence.request.submit')}
        </Button>
      </Form>
    </Card>
  );
}
