import { Form, Input, Modal, Space, Typography } from 'antd';
import { useState } from 'react';
import type { GroupDetailView } from '../../../../gateway/src/admin/api-types-system';
import { api } from '../../api';
import { MemberPicker } from '../../components/MemberPicker';
import { useI18n } from '../../i18n';
import { describeError, ErrorAlert, type ShownError } from './shared';

type UserId = GroupDetailView['members'][number]['id'];

interface Values {
  name: string;
  owner: UserId[];
  members: UserId[];
}

export const GROUP_NAME_MAX = 64;

/** Names a new group, an optional owner and the first members (POST /groups). */
export function CreateGroupModal({ open, defaultLimit, onClose, onCreated }: { open: boolean; defaultLimit: number | null; onClose(): void; onCreated(g: GroupDetailView): void }) {
  const { t } = useI18n();
  const [form] = Form.useForm<Values>();
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<ShownError | null>(null);

  const submit = async () => {
    const v = await form.validateFields();
    setSaving(true);
    setError(null);
    try {
      const owner = v.owner?.[0];
      const g = await api<GroupDetailView>('POST', '/groups', { body: { name: v.name.trim(), ...(owner !== undefined ? { ownerId: owner } : {}), memberIds: v.members ?? [] } });
      form.resetFields();
      onCreated(g);
    } catch (err) {
      setError(describeError(err, t, true));
    } finally {
      setSaving(false);
    }
  };

  return (
    <Modal
      open={open}
      title={t('groups.createTitle')}
      okText={t('groups.ok')}
      cancelText={t('groups.cancel')}
      okButtonProps={{ id: 'group-create-ok', loading: saving }}
      onOk={() => void submit().catch(() => undefined)}
      onCancel={() => {
        setError(null);
        onClose();
      }}
      destroyOnHidden
      width={560}
    >
      <Form<Values> form={form} name="group_create" layout="vertical" initialValues={{ name: '', owner: [], members: [] }} preserve={false}>
        <Form.Item
          name="name"
          label={t('groups.name')}
          rules={[
            { required: true, whitespace: true, message: t('groups.nameRequired') },
            { max: GROUP_NAME_MAX, message: t('groups.nameMax') },
          ]}
        >
          <Input maxLength={GROUP_NAME_MAX} showCount autoFocus />
        </Form.Item>
        <Form.Item name="owner" label={t('groups.createOwner')} extra={t('groups.createOwnerHint')} getValueFromEvent={(ids: UserId[]) => ids.slice(-1)}>
          <MemberPicker id="group_create_owner" />
        </Form.Item>
        <Form.Item name="members" label={t('groups.createMembers')} extra={t('groups.createMembersHint')} getValueFromEvent={(ids: UserId[]) => ids}>
          <MemberPicker id="group_create_members" />
        </Form.Item>
      </Form>
      <Space direction="vertical" style={{ width: '100%' }}>
        {defaultLimit !== null && <Typography.Text type="secondary">{t('groups.createLimitHint', { limit: defaultLimit })}</Typography.Text>}
        <ErrorAlert error={error} testId="group-create-error" />
      </Space>
    </Modal>
  );
}
