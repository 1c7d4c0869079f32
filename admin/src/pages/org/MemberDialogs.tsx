import { Alert, App as AntApp, Form, Input, Modal, Typography } from 'antd';
import { useState } from 'react';
import type { MemberPatchInput, MemberView } from '../../../../gateway/src/admin/api-types-org';
import { api, ApiError, errorMessage } from '../../api';
import { useI18n } from '../../i18n';
import { MemberDeptFields } from './MemberDeptFields';
import { memberRules, sameAs } from './member-rules';
import type { DeptId } from './use-dept-tree';

/** Sets a member's password (8–256 characters, typed twice). */
export function PasswordModal({ member, onClose }: { member: MemberView; onClose(): void }) {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const [form] = Form.useForm<{ password: string; password2: string }>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async () => {
    let v: { password: string };
    try {
      v = await form.validateFields();
    } catch {
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api<void>('POST', `/members/${member.id}/password`, { body: { password: v.password } });
      void message.success(t('org.password.done', { name: member.name }));
      onClose();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open
      title={t('org.password.title', { name: member.name, account: member.account })}
      okText={t('org.password.submit')}
      cancelText={t('org.cancel')}
      confirmLoading={busy}
      onOk={() => void submit()}
      onCancel={onClose}
      okButtonProps={{ id: 'password-ok' }}
      cancelButtonProps={{ id: 'password-cancel' }}
      destroyOnClose
    >
      <Typography.Paragraph type="secondary">{t('org.password.hint')}</Typography.Paragraph>
      <Form form={form} layout="vertical" name="reset-password">
        <Form.Item name="password" label={t('org.password.new')} rules={memberRules(t).password(true)}>
          <Input.Password id="password-new" autoComplete="new-password" maxLength={256} autoFocus />
        </Form.Item>
        <Form.Item name="password2" label={t('org.password.confirm')} dependencies={['password']} rules={[{ required: true, message: t('org.rule.passwordRequired') }, sameAs('password', t)]}>
          <Input.Password id="password-confirm" autoComplete="new-password" maxLength={256} />
        </Form.Item>
      </Form>
      {error && <Alert id="password-error" role="alert" type="error" showIcon message={error} />}
    </Modal>
  );
}

/** Changes a member's departments (and main department), with the version it read. */
export function MoveMemberModal({ member, onDone, onClose }: { member: MemberView; onDone(m: MemberView, depts: DeptId[]): void; onClose(): void }) {
  const { t } = useI18n();
  const [form] = Form.useForm<{ deptIds: DeptId[]; mainDeptId?: DeptId }>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async () => {
    let v: { deptIds: DeptId[]; mainDeptId?: DeptId };
    try {
      v = await form.validateFields();
    } catch {
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const body: MemberPatchInput = { rowVersion: member.rowVersion, deptIds: v.deptIds, ...(v.mainDeptId !== undefined ? { mainDeptId: v.mainDeptId } : {}) };
      const m = await api<MemberView>('PATCH', `/members/${member.id}`, { body });
      onDone(m, [...new Set([...member.depts.map((d) => d.id), ...m.depts.map((d) => d.id)])]);
    } catch (err) {
      setError(err instanceof ApiError && err.code === 'GW_CONFLICT' ? `${err.message}. ${t('org.member.moveConflict')}` : errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open
      title={t('org.member.moveTitle', { name: member.name })}
      okText={t('org.ok')}
      cancelText={t('org.cancel')}
      confirmLoading={busy}
      onOk={() => void submit()}
      onCancel={onClose}
      okButtonProps={{ id: 'member-move-ok' }}
      cancelButtonProps={{ id: 'member-move-cancel' }}
      destroyOnClose
      width={560}
    >
      <Form
        form={form}
        layout="vertical"
        name="move-member"
        initialValues={{ deptIds: member.depts.map((d) => d.id), mainDeptId: member.depts.find((d) => d.main)?.id ?? member.depts[0]?.id }}
      >
        <MemberDeptFields known={member.depts} idPrefix="move" />
      </Form>
      {error && <Alert id="member-move-error" role="alert" type="error" showIcon message={error} />}
    </Modal>
  );
}
