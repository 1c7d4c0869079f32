import { Alert, Button, Divider, Drawer, Form, Input, InputNumber, Radio, Select, Space, Switch, Typography } from 'antd';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { api, errorMessage } from '../../api';
import { useI18n } from '../../i18n';
import { ldapConfigOf, ldapFormOf, type LdapForm } from './ldap';
import { LdapFields } from './LdapFields';
import { MatchingOrder } from './MatchingOrder';
import { rtxConfigOf, RtxFields, rtxFormOf, type RtxForm } from './RtxFields';
import { SchedulePicker } from './SchedulePicker';
import { SecretField } from './SecretField';
import { fetchSourceFile, SYNC_API, type MatchKey, type SourceInput, type SourceKindView, type SourceView, type XlsxFileView } from './types';
import { localFileProblem, uploadSourceFile } from './upload';
import { xlsxConfigOf, xlsxFormOf, type XlsxForm } from './xlsx';
import { XlsxFields, type PendingFile } from './XlsxFields';

interface FormValues {
  kind: string;
  id: string;
  name: string;
  enabled: boolean;
  ldap: LdapForm;
  xlsx: XlsxForm;
  rtx: RtxForm;
  /** Other kinds: the config as JSON, secrets left out. */
  configJson: string;
  secrets: Record<string, string | undefined>;
  schedule: string | null;
  matchingBy: MatchKey[];
  adopt: boolean;
  brakePercent: number;
  deletion: 'never' | 'days';
  deletionDays: number;
}

const ID_RE = /^[a-z0-9-]{1,32}$/;
/** Kinds with their own form; others are edited as JSON. */
const FORM_KINDS = ['ldap', 'xlsx', 'rtx'];

function initialValues(source: SourceView | null, kinds: SourceKindView[]): FormValues {
  const kind = source?.kind ?? (kinds.some((k) => k.kind === 'ldap') ? 'ldap' : (kinds[0]?.kind ?? 'ldap'));
  return {
    kind,
    id: source?.id ?? '',
    name: source?.name ?? '',
    enabled: source?.enabled ?? true,
    ldap: ldapFormOf(source?.kind === 'ldap' ? source.config : undefined),
    xlsx: xlsxFormOf(source?.kind === 'xlsx' ? source.config : undefined),
    rtx: rtxFormOf(source?.kind === 'rtx' ? source.config : undefined),
    configJson: JSON.stringify(source && !FORM_KINDS.includes(source.kind) ? source.config : {}, null, 2),
    secrets: {},
    schedule: source ? source.schedule : '0 2 * * *',
    matchingBy: source?.matching.by ?? ['account'],
    adopt: source?.matching.adopt ?? true,
    brakePercent: source?.brakePercent ?? 10,
    deletion: source && source.deletionDays === null ? 'never' : 'days',
    deletionDays: source?.deletionDays ?? 30,
  };
}

/**
 * Creates or edits a source (POST/PATCH /sources): kind, id and name, the
 * kind's settings (the LDAP, spreadsheet and RTX forms, or the config as JSON
 * for other kinds), secrets write-only, the schedule with its preview, the
 * matching policy, the safety brake and the deletion delay. A spreadsheet
 * chosen in the form is uploaded once the source is saved; if the server
 * refuses it, the drawer stays open on the saved source with the rows at
 * fault. `onSaved(view, test)` gets the saved source and whether to test its
 * connection next; `onChanged()` tells the page the source list changed while
 * the drawer stays open.
 */
export function SourceDrawer({
  source,
  kinds,
  onClose,
  onSaved,
  onChanged,
}: {
  source: SourceView | null;
  kinds: SourceKindView[];
  onClose(): void;
  onSaved(view: SourceView, test: boolean): void;
  onChanged(): void;
}) {
  const { t, lang } = useI18n();
  const [form] = Form.useForm<FormValues>();
  const initial = useMemo(() => initialValues(source, kinds), [source, kinds]);
  const [saved, setSaved] = useState<SourceView | null>(source);
  const kind = (Form.useWatch('kind', form) as string | undefined) ?? initial.kind;
  const deletion = Form.useWatch('deletion', form) as FormValues['deletion'] | undefined;
  const enabled = (Form.useWatch('enabled', form) as boolean | undefined) ?? initial.enabled;
  const spec = kinds.find((k) => k.kind === kind);
  const [saving, setSaving] = useState<'save' | 'test' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [file, setFile] = useState<XlsxFileView | null>(null);
  const [fileLoading, setFileLoading] = useState(false);
  const [fileError, setFileError] = useState<string | null>(null);
  const [pending, setPending] = useState<PendingFile | null>(null);
  const [refusal, setRefusal] = useState<{ name: string; error: unknown } | null>(null);
  const editing = saved !== null;

  const loadFile = useCallback(async (id: string) => {
    setFileLoading(true);
    setFileError(null);
    try {
      setFile(await fetchSourceFile(id));
    } catch (err) {
      setFileError(errorMessage(err));
    } finally {
      setFileLoading(false);
    }
  }, []);

  useEffect(() => {
    if (saved?.kind === 'xlsx') void loadFile(saved.id);
  }, [saved?.id, saved?.kind, loadFile]);

  const choose = (f: File | null) => {
    setRefusal(null);
    setPending(f ? { file: f, problem: localFileProblem(f, t) } : null);
  };

  const save = async (andTest: boolean) => {
    try {
      await form.validateFields();
    } catch {
      return;
    }
    if (kind === 'xlsx' && pending?.problem) return;
    // every value, the fields not shown now included (validateFields answers only the rendered ones)
    const v = form.getFieldsValue(true) as FormValues;
    let config: Record<string, unknown>;
    if (v.kind === 'ldap') config = ldapConfigOf(v.ldap, saved?.config);
    else if (v.kind === 'xlsx') config = xlsxConfigOf(v.xlsx);
    else if (v.kind === 'rtx') config = rtxConfigOf(v.rtx);
    else {
      try {
        const parsed = JSON.parse(v.configJson || '{}') as unknown;
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        config = parsed as Record<string, unknown>;
      } catch {
        setError(t('sync.form.configJsonBad'));
        return;
      }
    }
    // only the secrets of this kind: a value typed under another kind must not land in the config in clear
    const secretFields = kinds.find((k) => k.kind === v.kind)?.secretFields ?? [];
    for (const f of secretFields) {
      const val = v.secrets?.[f];
      if (typeof val === 'string' && val !== '') config[f] = val;
    }
    const body: SourceInput = {
      name: v.name.trim() || v.id,
      config,
      schedule: v.schedule?.trim() ? v.schedule.trim() : null,
      enabled: v.enabled,
      matching: { by: v.matchingBy, adopt: v.adopt },
      brakePercent: v.brakePercent,
      deletionDays: v.deletion === 'never' ? null : v.deletionDays,
    };
    setSaving(andTest ? 'test' : 'save');
    setError(null);
    try {
      const view = saved
        ? await api<SourceView>('PATCH', `${SYNC_API}/sources/${encodeURIComponent(saved.id)}`, { body })
        : await api<SourceView>('POST', `${SYNC_API}/sources`, { body: { ...body, id: v.id, kind: v.kind } });
      if (v.kind === 'xlsx' && pending) {
        try {
          await uploadSourceFile(view.id, pending.file);
        } catch (err) {
          // the source is saved: the drawer goes on editing it, with the rows at fault
          setSaved(view);
          setRefusal({ name: pending.file.name, error: err });
          setPending(null);
          onChanged();
          void loadFile(view.id);
          return;
        }
      }
      onSaved(view, andTest);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setSaving(null);
    }
  };

  return (
    <Drawer
      open
      width={760}
      rootClassName="sync-source-drawer"
      title={saved ? t('sync.form.editTitle', { name: saved.name }) : t('sync.form.newTitle')}
      onClose={onClose}
      footer={
        <Space style={{ display: 'flex', justifyContent: 'flex-end' }}>
          <Button id="sync-source-cancel" onClick={onClose}>
            {t('sync.cancel')}
          </Button>
          <Button id="sync-source-save-test" loading={saving === 'test'} disabled={saving !== null} onClick={() => void save(true)}>
            {t('sync.form.saveAndTest')}
          </Button>
          <Button id="sync-source-save" type="primary" loading={saving === 'save'} disabled={saving !== null} onClick={() => void save(false)}>
            {t('sync.form.save')}
          </Button>
        </Space>
      }
    >
      <Form<FormValues> form={form} layout="vertical" initialValues={initial} id="sync-source-form" requiredMark>
        {refusal && saved && <Alert id="sync-source-file-notice" type="warning" showIcon style={{ marginBottom: 16 }} message={t('sync.file.savedButRefused')} />}
        {error && <Alert id="sync-source-error" type="error" showIcon closable onClose={() => setError(null)} message={t('sync.form.saveFailed')} description={error} style={{ marginBottom: 16 }} />}
        <Form.Item name="kind" label={t('sync.form.kind')} rules={[{ required: true }]}>
          <Select
            id="sync-source-kind"
            disabled={editing}
            options={kinds.map((k) => ({ value: k.kind, label: k.label ? k.label[lang] : k.kind }))}
          />
        </Form.Item>
        <Space.Compact block>
          <Form.Item
            name="id"
            label={t('sync.form.id')}
            style={{ flex: 1 }}
            extra={t('sync.form.idHelp')}
            rules={editing ? [] : [{ required: true, pattern: ID_RE, message: t('sync.form.idRule') }]}
          >
            <Input id="sync-source-id" disabled={editing} maxLength={32} placeholder="corp-ad" />
          </Form.Item>
          <Form.Item name="name" label={t('sync.form.name')} style={{ flex: 2, marginLeft: 8 }} rules={[{ max: 64 }]}>
            <Input id="sync-source-name" maxLength={64} placeholder={t('sync.form.namePlaceholder')} />
          </Form.Item>
        </Space.Compact>
        <Form.Item name="enabled" label={t('sync.form.enabled')} valuePropName="checked" extra={enabled ? t('sync.form.enabledHelp') : undefined}>
          <Switch id="sync-source-enabled" />
        </Form.Item>
        {!enabled && <Alert id="sync-source-disabled-note" type="warning" showIcon style={{ marginBottom: 16 }} message={t('sync.form.disabledNote')} />}

        {kind === 'ldap' ? (
          <LdapFields passwordSet={saved?.secretsSet.includes('bindPassword') ?? false} />
        ) : kind === 'xlsx' ? (
          <XlsxFields file={file} fileLoading={fileLoading} fileError={fileError} pending={pending} refusal={refusal} onPending={choose} />
        ) : kind === 'rtx' ? (
          <RtxFields />
        ) : (
          <>
            <Divider orientation="left" plain>
              {t('sync.form.config')}
            </Divider>
            <Form.Item name="configJson" label={t('sync.form.configJson')} extra={kind === 'memory' ? t('sync.form.memoryHelp') : undefined}>
              <Input.TextArea id="sync-source-config" rows={4} style={{ fontFamily: 'monospace' }} />
            </Form.Item>
            {(spec?.secretFields ?? []).map((f) => (
              <Form.Item key={f} name={['secrets', f]} label={t('sync.form.secret', { name: f })}>
                <SecretField id={`sync-secret-${f}`} isSet={saved?.secretsSet.includes(f) ?? false} />
              </Form.Item>
            ))}
          </>
        )}

        <Divider orientation="left" plain>
          {t('sync.form.schedule')}
        </Divider>
        <Form.Item name="schedule">
          <SchedulePicker />
        </Form.Item>

        <Divider orientation="left" plain>
          {t('sync.form.policy')}
        </Divider>
        {kind === 'rtx' ? (
          <Typography.Paragraph type="secondary" id="sync-source-policy-rtx">
            {t('sync.form.policyRtx')}
          </Typography.Paragraph>
        ) : (
          <>
            <Form.Item name="matchingBy" label={t('sync.form.matching')} extra={t('sync.form.matchingHelp')}>
              <MatchingOrder />
            </Form.Item>
            <Form.Item name="adopt" label={t('sync.form.adopt')} valuePropName="checked" extra={t('sync.form.adoptHelp')}>
              <Switch id="sync-source-adopt" />
            </Form.Item>
            <Form.Item name="brakePercent" label={t('sync.form.brake')} extra={t('sync.form.brakeHelp')} rules={[{ required: true, type: 'number', min: 0, max: 100 }]}>
              <InputNumber id="sync-source-brake" min={0} max={100} precision={0} addonAfter="%" />
            </Form.Item>
            <Form.Item label={t('sync.form.deletion')} extra={t('sync.form.deletionHelp')}>
              <Space wrap>
                <Form.Item name="deletion" noStyle>
                  <Radio.Group id="sync-source-deletion">
                    <Radio value="days">{t('sync.form.deletionAfter')}</Radio>
                    <Radio value="never">{t('sync.form.deletionNever')}</Radio>
                  </Radio.Group>
                </Form.Item>
                {deletion !== 'never' && (
                  <Form.Item name="deletionDays" noStyle rules={[{ required: true, type: 'number', min: 0, max: 3650 }]}>
                    <InputNumber id="sync-source-deletion-days" min={0} max={3650} precision={0} addonAfter={t('sync.form.days')} />
                  </Form.Item>
                )}
              </Space>
            </Form.Item>
          </>
        )}
        {saved && (
          <Typography.Text type="secondary" id="sync-source-origin">
            {t('sync.form.origin', { origin: saved.origin })}
          </Typography.Text>
        )}
      </Form>
    </Drawer>
  );
}
