import { Alert, App as AntApp, Button, Checkbox, Col, ConfigProvider, Descriptions, Drawer, Form, Input, InputNumber, Radio, Row, Space, Spin, Tabs, Tag } from 'antd';
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { DeptNodeView, MemberCreateInput, MemberGender, MemberPatchInput, MemberView } from '../../../../gateway/src/admin/api-types-org';
import { api, ApiError, errorMessage } from '../../api';
import { useI18n, type MessageKey } from '../../i18n';
import { MemberDeptFields } from './MemberDeptFields';
import { MemberDevices } from './MemberDevices';
import { MAX_ORDER, memberRules, sameAs } from './member-rules';
import type { DeptId } from './use-dept-tree';

export type MemberDrawerMode = { kind: 'create'; dept: DeptNodeView | null } | { kind: 'edit'; member: MemberView; tab?: 'profile' | 'devices' };

interface Values {
  account: string;
  name: string;
  deptIds: DeptId[];
  mainDeptId?: DeptId;
  mobile?: string;
  email?: string;
  phone?: string;
  title?: string;
  gender: MemberGender;
  order?: number | null;
  password?: string;
  password2?: string;
  authorised?: boolean;
}

type Editable = 'name' | 'deptIds' | 'mobile' | 'email' | 'phone' | 'title' | 'gender' | 'order';
type Draft = Partial<Pick<Values, Exclude<Editable, 'order'> | 'mainDeptId'>> & { order?: number };

const FIELD_LABEL: Record<Editable | 'mainDeptId', MessageKey> = {
  name: 'org.name', deptIds: 'org.dept', mainDeptId: 'org.mainDept', mobile: 'org.mobile', email: 'org.email', phone: 'org.phone', title: 'org.title', gender: 'org.gender', order: 'org.order',
};

function valuesOf(m: MemberView): Values {
  return {
    account: m.account, name: m.name, deptIds: m.depts.map((d) => d.id), mainDeptId: m.depts.find((d) => d.main)?.id ?? m.depts[0]?.id,
    mobile: m.mobile, email: m.email, phone: m.phone, title: m.title, gender: m.gender, order: m.order,
  };
}

const sameSet = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x) => b.includes(x));

/** The fields of the form that differ from the member as loaded: what a PATCH sends. */
function diff(m: MemberView, v: Values): Draft {
  const cur = valuesOf(m);
  const d: Draft = {};
  for (const f of ['name', 'mobile', 'email', 'phone', 'title'] as const) if ((v[f] ?? '').trim() !== (cur[f] ?? '')) d[f] = (v[f] ?? '').trim();
  if (v.gender !== cur.gender) d.gender = v.gender;
  if ((v.order ?? 0) !== cur.order) d.order = v.order ?? 0;
  if (!sameSet(v.deptIds ?? [], cur.deptIds) || v.mainDeptId !== cur.mainDeptId) {
    d.deptIds = v.deptIds;
    if (v.mainDeptId !== undefined) d.mainDeptId = v.mainDeptId;
  }
  return d;
}

export interface MemberDrawerProps {
  mode: MemberDrawerMode;
  canEditMembers: boolean;
  canAuthorise: boolean;
  canDevices: boolean;
  /** A member was created or changed; `depts` are the departments whose counts may have changed. */
  onSaved(member: MemberView, depts: DeptId[]): void;
  onClose(): void;
}

/**
 * Creates or edits a member. An edit sends only the changed fields with the
 * rowVersion it loaded; when someone else saved first the server refuses
 * (409 GW_CONFLICT) and the drawer offers to load their version, keeping the
 * administrator's own changes aside to apply again.
 */
export function MemberDrawer({ mode, canEditMembers, canAuthorise, canDevices, onSaved, onClose }: MemberDrawerProps) {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const [form] = Form.useForm<Values>();
  const rules = useMemo(() => memberRules(t), [t]);
  const creating = mode.kind === 'create';
  const [member, setMember] = useState<MemberView | null>(mode.kind === 'edit' ? mode.member : null);
  const [loading, setLoading] = useState(mode.kind === 'edit');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [conflict, setConflict] = useState<{ message: string; draft: Draft } | null>(null);
  const [keptDraft, setKeptDraft] = useState<Draft | null>(null);
  const [tab, setTab] = useState<string>(mode.kind === 'edit' ? (mode.tab ?? 'profile') : 'profile');
  const readOnly = !canEditMembers;
  // fields RTX owns are synced from RTX (docs/protocol/rtx-bridge-v1.md): the server refuses edits (GW_RTX_OWNED)
  const rtxOwned = (member ?? (mode.kind === 'edit' ? mode.member : null))?.origin === 'rtx';
  const owned = rtxOwned ? { tooltip: t('rtx.owned'), rules: [] } : {};
  const ownedInput = rtxOwned ? { disabled: true, title: t('rtx.owned') } : {};

  const memberId = mode.kind === 'edit' ? mode.member.id : null;
  const load = useCallback(async () => {
    if (memberId === null) return null;
    setLoading(true);
    try {
      const m = await api<MemberView>('GET', `/members/${memberId}`);
      setMember(m);
      form.setFieldsValue(valuesOf(m));
      return m;
    } catch (err) {
      setError(errorMessage(err));
      return null;
    } finally {
      setLoading(false);
    }
  }, [memberId, form]);

  // the row may be minutes old: edit what the server has now
  useEffect(() => {
    void load();
  }, [load]);

  const save = async () => {
    let v: Values;
    try {
      v = await form.validateFields();
    } catch {
      return;
    }
    setBusy(true);
    setError(null);
    try {
      if (creating) {
        const body: MemberCreateInput = {
          account: v.account.trim(), name: v.name.trim(), deptIds: v.deptIds, gender: v.gender, order: v.order ?? 0,
          ...(v.mainDeptId !== undefined ? { mainDeptId: v.mainDeptId } : {}),
          ...(v.mobile?.trim() ? { mobile: v.mobile.trim() } : {}),
          ...(v.email?.trim() ? { email: v.email.trim() } : {}),
          ...(v.phone?.trim() ? { phone: v.phone.trim() } : {}),
          ...(v.title?.trim() ? { title: v.title.trim() } : {}),
          ...(v.password ? { password: v.password } : {}),
          ...(canAuthorise && v.authorised ? { authorised: true } : {}),
        };
        const m = await api<MemberView>('POST', '/members', { body });
        void message.success(t('org.member.created', { name: m.name }));
        onSaved(m, m.depts.map((d) => d.id));
        return;
      }
      if (!member) return;
      const d = diff(member, v);
      if (Object.keys(d).length === 0) {
        onClose();
        return;
      }
      const body: MemberPatchInput = { ...d, rowVersion: member.rowVersion };
      try {
        const m = await api<MemberView>('PATCH', `/members/${member.id}`, { body });
        void message.success(t('org.member.saved', { name: m.name }));
        setKeptDraft(null);
        onSaved(m, [...new Set([...member.depts.map((x) => x.id), ...m.depts.map((x) => x.id)])]);
      } catch (err) {
        if (err instanceof ApiError && err.status === 409 && err.code === 'GW_CONFLICT') {
          setConflict({ message: err.message, draft: d });
          return;
        }
        throw err;
      }
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const reload = async () => {
    const draft = conflict?.draft ?? null;
    const m = await load();
    if (!m) return;
    setConflict(null);
    // keep only the changes that still differ from what is there now
    const still = draft ? (Object.fromEntries(Object.entries(draft).filter(([k, val]) => JSON.stringify(val) !== JSON.stringify((valuesOf(m) as unknown as Record<string, unknown>)[k]))) as Draft) : null;
    setKeptDraft(still && Object.keys(still).length > 0 ? still : null);
  };

  const draftText = (d: Draft) =>
    Object.entries(d)
      .filter(([k]) => k !== 'mainDeptId' || d.deptIds === undefined)
      .map(([k, val]) => `${t(FIELD_LABEL[k as keyof Draft])}: ${k === 'deptIds' || k === 'mainDeptId' ? t('org.member.deptsChanged') : k === 'gender' ? t(`org.gender.${String(val)}` as MessageKey) : String(val) || t('org.empty')}`)
      .join('；');

  const initial: Partial<Values> = creating
    ? { gender: 'unknown', order: 0, deptIds: mode.dept ? [mode.dept.id] : [], authorised: false, ...(mode.dept ? { mainDeptId: mode.dept.id } : {}) }
    : valuesOf(mode.member);
  const known = useMemo(
    () => (mode.kind === 'create' ? (mode.dept ? [{ id: mode.dept.id, name: mode.dept.path || mode.dept.name }] : []) : (member?.depts ?? mode.member.depts)),
    [mode, member],
  );

  const profile = (
    <Spin spinning={loading}>
      {conflict && (
        <Alert
          id="member-conflict"
          role="alert"
          type="warning"
          showIcon
          style={{ marginBottom: 16 }}
          message={t('org.member.conflictTitle')}
          description={
            <Space direction="vertical">
              <span>{conflict.message}</span>
              <span>{t('org.member.conflictHint', { changes: draftText(conflict.draft) })}</span>
            </Space>
          }
          action={
            <Button id="member-reload" size="small" type="primary" onClick={() => void reload()}>
              {t('org.member.reload')}
            </Button>
          }
        />
      )}
      {keptDraft && (
        <Alert
          id="member-kept-draft"
          type="info"
          showIcon
          closable
          onClose={() => setKeptDraft(null)}
          style={{ marginBottom: 16 }}
          message={t('org.member.reloaded')}
          description={t('org.member.yourChanges', { changes: draftText(keptDraft) })}
          action={
            <Button
              id="member-reapply"
              size="small"
              onClick={() => {
                form.setFieldsValue(keptDraft);
                setKeptDraft(null);
              }}
            >
              {t('org.member.reapply')}
            </Button>
          }
        />
      )}
      {error && <Alert id="member-form-error" role="alert" type="error" showIcon closable onClose={() => setError(null)} message={error} style={{ marginBottom: 16 }} />}
      {member && (
        <Descriptions size="small" column={3} style={{ marginBottom: 12 }}>
          <Descriptions.Item label={t('org.status')}>
            <Tag color={member.status === 'active' ? 'green' : 'default'}>{member.status === 'active' ? t('org.active') : t('org.disabled')}</Tag>
          </Descriptions.Item>
          <Descriptions.Item label={t('org.authorised')}>{member.authorised ? t('org.yes') : t('org.no')}</Descriptions.Item>
          <Descriptions.Item label={t('org.origin')}>
            {member.origin === 'rtx' ? (
              <Tag id="member-rtx-tag" color="purple">
                {t('rtx.tag')}
              </Tag>
            ) : (
              member.origin
            )}
          </Descriptions.Item>
        </Descriptions>
      )}
      {rtxOwned && !readOnly && <Alert id="member-rtx-note" type="info" showIcon message={t('rtx.ownedNote')} style={{ marginBottom: 16 }} />}
      <Form form={form} layout="vertical" name="member" initialValues={initial} disabled={readOnly} requiredMark>
        <Row gutter={16}>
          <Col span={12}>
            <Form.Item name="account" label={t('org.account')} rules={creating ? rules.account : []} extra={creating ? t('org.member.accountHint') : t('org.member.accountFixed')}>
              <Input id="member-account" disabled={!creating} maxLength={64} autoComplete="off" />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item name="name" label={t('org.name')} rules={rules.name} {...owned}>
              <Input id="member-name" maxLength={64} {...ownedInput} />
            </Form.Item>
          </Col>
        </Row>
        {rtxOwned ? (
          <div title={t('rtx.owned')} data-testid="member-rtx-depts">
            <ConfigProvider componentDisabled>
              <MemberDeptFields known={known} idPrefix="member" />
            </ConfigProvider>
          </div>
        ) : (
          <MemberDeptFields known={known} idPrefix="member" />
        )}
        <Row gutter={16}>
          <Col span={12}>
            <Form.Item name="mobile" label={t('org.mobile')} rules={rules.mobile} {...owned}>
              <Input id="member-mobile" maxLength={32} {...ownedInput} />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item name="phone" label={t('org.phone')} rules={rules.phone} {...owned}>
              <Input id="member-phone" maxLength={32} {...ownedInput} />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item name="email" label={t('org.email')} rules={rules.email} {...owned}>
              <Input id="member-email" maxLength={320} {...ownedInput} />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item name="title" label={t('org.title')} rules={rules.title} {...owned}>
              <Input id="member-title" maxLength={64} {...ownedInput} />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item name="gender" label={t('org.gender')} {...owned}>
              <Radio.Group id="member-gender" {...ownedInput}>
                <Radio value="male">{t('org.gender.male')}</Radio>
                <Radio value="female">{t('org.gender.female')}</Radio>
                <Radio value="unknown">{t('org.gender.unknown')}</Radio>
              </Radio.Group>
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item name="order" label={t('org.order')} extra={t('org.orderHint')}>
              <InputNumber id="member-order" min={0} max={MAX_ORDER} precision={0} style={{ width: '100%' }} />
            </Form.Item>
          </Col>
        </Row>
        {creating && (
          <>
            <Row gutter={16}>
              <Col span={12}>
                <Form.Item name="password" label={t('org.member.initialPassword')} rules={rules.password(false)} extra={t('org.member.passwordHint')}>
                  <Input.Password id="member-password" autoComplete="new-password" maxLength={256} />
                </Form.Item>
              </Col>
              <Col span={12}>
                <Form.Item name="password2" label={t('org.password.confirm')} dependencies={['password']} rules={[sameAs('password', t)]}>
                  <Input.Password id="member-password2" autoComplete="new-password" maxLength={256} />
                </Form.Item>
              </Col>
            </Row>
            {canAuthorise && (
              <Form.Item name="authorised" valuePropName="checked" extra={t('org.member.authorisedHint')}>
                <Checkbox id="member-authorised">{t('org.member.authoriseNow')}</Checkbox>
              </Form.Item>
            )}
          </>
        )}
      </Form>
    </Spin>
  );

  const title = creating ? t('org.member.createTitle') : t('org.member.editTitle', { name: member?.name ?? '', account: member?.account ?? '' });
  const footer = tab === 'profile' && !readOnly && (
    <Space style={{ float: 'right' }}>
      <Button onClick={onClose}>{t('org.cancel')}</Button>
      <Button id="member-save" type="primary" loading={busy} disabled={loading} onClick={() => void save()}>
        {creating ? t('org.member.create') : t('org.save')}
      </Button>
    </Space>
  );

  return (
    <Drawer open width={820} title={title} onClose={onClose} footer={footer || null} destroyOnClose rootClassName="member-drawer">
      {creating || !canDevices || !member ? (
        profile
      ) : (
        <Tabs
          activeKey={tab}
          onChange={setTab}
          items={[
            { key: 'profile', label: <span id="member-tab-profile">{t('org.member.profile')}</span>, children: profile, forceRender: true },
            { key: 'devices', label: <span id="member-tab-devices">{t('org.member.devices')}</span>, children: <MemberDevices member={member} /> },
          ]}
        />
      )}
    </Drawer>
  );
}
