import { Alert, Checkbox, Form, Input, Modal, Space, Tag, Tooltip } from 'antd';
import { useState } from 'react';
import type { AdminView, MeView } from '../../../../gateway/src/admin/api-types';
import { api, errorMessage } from '../../api';
import { useI18n, type Translate } from '../../i18n';
import { canGrant, type RoleRow } from './grantable';

type RoleId = RoleRow['id'];

const USERNAME_RE = /^[A-Za-z0-9._-]{3,32}$/;

/** A modal with one form; the server's refusal is shown inside it and the modal stays open. */
function FormModal<V extends object>(props: {
  id: string;
  title: string;
  initial: Partial<V>;
  onClose(): void;
  submit(v: V): Promise<AdminView | void>;
  onDone(view: AdminView | void): void;
  children: React.ReactNode;
}) {
  const { t } = useI18n();
  const [form] = Form.useForm<V>();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const finish = async (v: V) => {
    setBusy(true);
    setError(null);
    try {
      props.onDone(await props.submit(v));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open
      title={props.title}
      onCancel={props.onClose}
      onOk={() => form.submit()}
      okText={t('admins.save')}
      cancelText={t('admins.cancel')}
      confirmLoading={busy}
      okButtonProps={{ id: `${props.id}-save` }}
      cancelButtonProps={{ id: `${props.id}-cancel` }}
      maskClosable={false}
    >
      <Form<V> form={form} name={props.id} id={`${props.id}-form`} layout="vertical" initialValues={props.initial} onFinish={(v) => void finish(v)}>
        {error && <Alert id={`${props.id}-error`} type="error" showIcon message={error} style={{ marginBottom: 16 }} />}
        {props.children}
      </Form>
    </Modal>
  );
}

function passwordItems(t: Translate, label: string) {
  return (
    <>
      <Form.Item name="password" label={label} extra={t('admins.admin.passwordRule')} rules={[{ required: true, min: 8, max: 256, message: t('admins.admin.passwordRule') }]}>
        <Input.Password autoComplete="new-password" />
      </Form.Item>
      <Form.Item
        name="confirm"
        label={t('admins.admin.confirm')}
        dependencies={['password']}
        rules={[
          { required: true, message: t('admins.admin.mismatch') },
          ({ getFieldValue }) => ({
            validator: (_rule, value) => (value === getFieldValue('password') ? Promise.resolve() : Promise.reject(new Error(t('admins.admin.mismatch')))),
          }),
        ]}
      >
        <Input.Password autoComplete="new-password" />
      </Form.Item>
    </>
  );
}

/** Role checkboxes: roles the administrator could not grant are shown but cannot be ticked. */
function RoleChoice({ me, roles, value, onChange, id }: { me: MeView; roles: RoleRow[]; value?: RoleId[]; onChange?(v: RoleId[]): void; id?: string }) {
  const { t } = useI18n();
  return (
    <div id={id}>
      <Checkbox.Group value={value ?? []} onChange={(v) => onChange?.(v as RoleId[])} style={{ display: 'block' }}>
        <Space direction="vertical">
          {roles.map((r) => {
            const ok = canGrant(me, r);
            const box = (
              <Checkbox key={r.id} value={r.id} disabled={!ok} data-testid={`role-choice-${r.name}`}>
                {r.name}
                {r.builtin && (
                  <Tag color="gold" style={{ marginLeft: 6 }}>
                    {t('admins.role.builtin')}
                  </Tag>
                )}
              </Checkbox>
            );
            return ok ? box : <Tooltip key={r.id} title={t('admins.notGrantable')}>{box}</Tooltip>;
          })}
        </Space>
      </Checkbox.Group>
    </div>
  );
}

interface CreateValues {
  username: string;
  displayName?: string;
  password: string;
  confirm: string;
  roleIds?: RoleId[];
}

export function CreateAdminForm({ me, roles, onClose, onDone }: { me: MeView; roles: RoleRow[]; onClose(): void; onDone(): void }) {
  const { t } = useI18n();
  return (
    <FormModal<CreateValues>
      id="admin"
      title={t('admins.admin.createTitle')}
      initial={{ roleIds: [] }}
      onClose={onClose}
      onDone={onDone}
      submit={(v) =>
        api<AdminView>('POST', '/admins', {
          body: { username: v.username.trim(), password: v.password, ...(v.displayName?.trim() ? { displayName: v.displayName.trim() } : {}), roleIds: v.roleIds ?? [] },
        })
      }
    >
      <Form.Item name="username" label={t('admins.admin.username')} extra={t('admins.admin.usernameRule')} rules={[{ required: true, pattern: USERNAME_RE, message: t('admins.admin.usernameRule') }]}>
        <Input autoComplete="off" maxLength={32} />
      </Form.Item>
      <Form.Item name="displayName" label={t('admins.admin.displayName')} rules={[{ max: 64, message: t('admins.admin.displayNameRule') }]}>
        <Input maxLength={64} />
      </Form.Item>
      {passwordItems(t, t('admins.admin.password'))}
      <Form.Item name="roleIds" label={t('admins.admin.roles')}>
        <RoleChoice me={me} roles={roles} />
      </Form.Item>
    </FormModal>
  );
}

export function EditAdminForm({ admin, onClose, onDone }: { admin: AdminView; onClose(): void; onDone(): void }) {
  const { t } = useI18n();
  return (
    <FormModal<{ displayName: string }>
      id="admin-edit"
      title={t('admins.admin.editTitle', { name: admin.username })}
      initial={{ displayName: admin.displayName === admin.username ? '' : admin.displayName }}
      onClose={onClose}
      onDone={onDone}
      submit={(v) => api<AdminView>('PATCH', `/admins/${admin.id}`, { body: { displayName: (v.displayName ?? '').trim() } })}
    >
      <Form.Item label={t('admins.admin.username')} extra={t('admins.admin.usernameFixed')}>
        <Input value={admin.username} disabled />
      </Form.Item>
      <Form.Item name="displayName" label={t('admins.admin.displayName')} rules={[{ max: 64, message: t('admins.admin.displayNameRule') }]}>
        <Input maxLength={64} />
      </Form.Item>
    </FormModal>
  );
}

export function PasswordForm({ admin, onClose, onDone }: { admin: AdminView; onClose(): void; onDone(): void }) {
  const { t } = useI18n();
  return (
    <FormModal<{ password: string; confirm: string }>
      id="admin-password"
      title={t('admins.admin.passwordTitle', { name: admin.username })}
      initial={{}}
      onClose={onClose}
      onDone={onDone}
      submit={(v) => api<AdminView>('PATCH', `/admins/${admin.id}`, { body: { password: v.password } })}
    >
      <Alert type="info" showIcon message={t('admins.admin.resetHint')} style={{ marginBottom: 16 }} />
      {passwordItems(t, t('admins.admin.newPassword'))}
    </FormModal>
  );
}

export function RolesForm({ me, admin, roles, onClose, onDone }: { me: MeView; admin: AdminView; roles: RoleRow[]; onClose(): void; onDone(): void }) {
  const { t } = useI18n();
  return (
    <FormModal<{ roleIds?: RoleId[] }>
      id="admin-roles"
      title={t('admins.admin.rolesTitle', { name: admin.username })}
      initial={{ roleIds: admin.roles.map((r) => r.id) }}
      onClose={onClose}
      onDone={onDone}
      submit={(v) => api<AdminView>('PUT', `/admins/${admin.id}/roles`, { body: { roleIds: v.roleIds ?? [] } })}
    >
      {admin.id === me.id && <Alert type="warning" showIcon message={t('admins.admin.selfRoles')} style={{ marginBottom: 16 }} />}
      <Form.Item name="roleIds" label={t('admins.admin.roles')}>
        <RoleChoice me={me} roles={roles} />
      </Form.Item>
    </FormModal>
  );
}
