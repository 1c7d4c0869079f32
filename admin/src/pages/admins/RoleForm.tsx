import { Alert, Checkbox, Form, Input, Modal, Radio, Space, Tooltip, Typography } from 'antd';
import { useState } from 'react';
import type { MeView, RoleView, ScopeDeptView } from '../../../../gateway/src/admin/api-types';
import { RIGHT_LABELS, sortRights, type Right } from '../../../../gateway/src/admin/rights';
import { api, errorMessage } from '../../api';
import { DeptPicker } from '../../components/DeptPicker';
import { useI18n } from '../../i18n';
import { holdsRight, holdsWholeOrg, RIGHT_GROUPS, type RoleRow } from './grantable';

type DeptId = ScopeDeptView['id'];

interface RoleFormValues {
  name: string;
  rights: Right[];
  scopeMode: 'whole' | 'depts';
  scopeDeptIds?: DeptId[];
}

export interface RoleFormProps {
  me: MeView;
  /** null: a new role. */
  role: RoleRow | null;
  onClose(): void;
  onSaved(role: RoleView): void;
}

/**
 * Creates or edits a role: name, rights grouped with their labels, scope (the
 * whole organisation or departments with their subtrees). Rights the
 * administrator does not hold are shown but cannot be ticked; the server
 * checks again and its refusal is shown in the form. The built-in role opens
 * read-only.
 */
export function RoleForm({ me, role, onClose, onSaved }: RoleFormProps) {
  const { t, lang } = useI18n();
  const [form] = Form.useForm<RoleFormValues>();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const readOnly = role?.builtin === true;
  const scopeMode = Form.useWatch('scopeMode', form);
  const wholeAllowed = holdsWholeOrg(me);

  const initial: RoleFormValues = role
    ? { name: role.name, rights: role.rights, scopeMode: role.wholeOrg ? 'whole' : 'depts', scopeDeptIds: role.scope.map((s) => s.id) }
    : { name: '', rights: [], scopeMode: wholeAllowed ? 'whole' : 'depts', scopeDeptIds: [] };

  const save = async (v: RoleFormValues) => {
    setBusy(true);
    setError(null);
    const whole = v.scopeMode === 'whole';
    const body = { name: v.name.trim(), rights: sortRights(v.rights), wholeOrg: whole, scopeDeptIds: whole ? [] : (v.scopeDeptIds ?? []) };
    try {
      const saved = role ? await api<RoleView>('PATCH', `/roles/${role.id}`, { body }) : await api<RoleView>('POST', '/roles', { body });
      onSaved(saved);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const title = role === null ? t('admins.role.createTitle') : readOnly ? t('admins.role.viewTitle', { name: role.name }) : t('admins.role.editTitle', { name: role.name });

  return (
    <Modal
      open
      title={title}
      width={640}
      onCancel={onClose}
      onOk={() => form.submit()}
      okText={t('admins.save')}
      cancelText={t('admins.cancel')}
      confirmLoading={busy}
      okButtonProps={{ id: 'role-save', style: readOnly ? { display: 'none' } : undefined }}
      cancelButtonProps={{ id: 'role-cancel' }}
      maskClosable={false}
    >
      <Form<RoleFormValues> form={form} name="role" id="role-form" layout="vertical" initialValues={initial} disabled={readOnly} onFinish={(v) => void save(v)}>
        {readOnly && <Alert type="info" showIcon message={t('admins.role.builtinReadOnly')} style={{ marginBottom: 16 }} />}
        {error && <Alert id="role-form-error" type="error" showIcon message={error} style={{ marginBottom: 16 }} />}
        <Form.Item name="name" label={t('admins.role.name')} rules={[{ required: true, whitespace: true, max: 64, message: t('admins.role.nameRule') }]}>
          <Input maxLength={64} />
        </Form.Item>
        <Form.Item name="rights" label={t('admins.role.rights')} rules={[{ required: true, type: 'array', min: 1, message: t('admins.role.rightsRule') }]}>
          <Checkbox.Group style={{ display: 'block' }}>
            <Space direction="vertical" style={{ width: '100%' }}>
              {RIGHT_GROUPS.map((g) => (
                <div key={g.key} data-testid={`role-rights-${g.key}`}>
                  <Typography.Text type="secondary">{t(`admins.role.group.${g.key}`)}</Typography.Text>
                  <div>
                    {g.rights.map((r) => {
                      const held = holdsRight(me, r);
                      const box = (
                        <Checkbox key={r} value={r} id={`role-right-${r}`} disabled={readOnly || !held}>
                          {RIGHT_LABELS[r][lang]}
                        </Checkbox>
                      );
                      return held ? box : <Tooltip key={r} title={t('admins.role.rightNotHeld')}>{box}</Tooltip>;
                    })}
                  </div>
                </div>
              ))}
            </Space>
          </Checkbox.Group>
        </Form.Item>
        <Form.Item name="scopeMode" label={t('admins.role.scope')} extra={scopeMode === 'depts' ? t('admins.role.scopeHint') : undefined}>
          <Radio.Group>
            <Tooltip title={wholeAllowed ? undefined : t('admins.role.scopeWholeDisabled')}>
              <Radio value="whole" id="role-scope-whole" disabled={readOnly || !wholeAllowed}>
                {t('admins.role.scopeWhole')}
              </Radio>
            </Tooltip>
            <Radio value="depts" id="role-scope-depts">
              {t('admins.role.scopeDepts')}
            </Radio>
          </Radio.Group>
        </Form.Item>
        {scopeMode === 'depts' && (
          <Form.Item name="scopeDeptIds" rules={[{ required: true, type: 'array', min: 1, message: t('admins.role.scopeRule') }]}>
            <DeptPicker id="role-scope-picker" multiple known={(role?.scope ?? []).map((s) => ({ id: s.id, name: s.path }))} />
          </Form.Item>
        )}
      </Form>
    </Modal>
  );
}
