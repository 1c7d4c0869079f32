import { Alert, Form, Input, Modal, Radio, Typography } from 'antd';
import { useState } from 'react';
import type { DeptNodeView } from '../../../../gateway/src/admin/api-types-org';
import { api, errorMessage } from '../../api';
import { DeptPicker } from '../../components/DeptPicker';
import { useI18n } from '../../i18n';
import type { DeptId } from './use-dept-tree';

// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

export type DeptNameMode = { kind: 'create'; parent: DeptNodeView | null; order: number } | { kind: 'rename'; dept: DeptNodeView };

/** Creates a department (under a parent or at the top level) or renames one; the server's refusal shows in the dialog. */
export function DeptNameModal({ mode, onDone, onCancel }: { mode: DeptNameMode; onDone(node: DeptNodeView): void; onCancel(): void }) {
  const { t } = useI18n();
  const [form] = Form.useForm<{ name: string }>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async () => {
    const { name } = await form.validateFields();
    setBusy(true);
    setError(null);
    try {
      const node =
        mode.kind === 'create'
          ? await api<DeptNodeView>('POST', '/depts', { body: { parentId: mode.parent?.id ?? null, name: name.trim(), order: mode.order } })
          : await api<DeptNodeView>('PATCH', `/depts/${mode.dept.id}`, { body: { name: name.trim() } });
      onDone(node);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const title =
    mode.kind === 'rename' ? t('org.dept.renameTitle', { name: mode.dept.name }) : mode.parent ? t('org.dept.createUnder', { name: mode.parent.path || mode.parent.name }) : t('org.dept.createTop');

  return (
    <Modal
      open
      title={title}
      okText={t('org.ok')}
      cancelText={t('org.cancel')}
      confirmLoading={busy}
      onOk={() => void submit().catch(() => undefined)}
      onCancel={onCancel}
      okButtonProps={{ id: 'dept-name-ok' }}
      cancelButtonProps={{ id: 'dept-name-cancel' }}
      destroyOnClose
    >
      <Form form={form} layout="vertical" initialValues={{ name: mode.kind === 'rename' ? mode.dept.name : '' }} onFinish={() => void submit()}>
        <Form.Item
          name="name"
          label={t('org.dept.name')}
          rules={[
            { required: true, whitespace: true, message: t('org.dept.nameRequired') },
            { max: 64, message: t('org.dept.nameTooLong') },
            { validator: async (_r, v: string | undefined) => { if (v && (v.includes('/') || CONTROL_RE.test(v))) throw new Error(t('org.dept.nameBadChars')); } },
          ]}
        >
          <Input id="dept-name-input" autoFocus maxLength={64} onPressEnter={() => void submit().catch(() => undefined)} />
        </Form.Item>
      </Form>
      {error && <Alert id="dept-form-error" role="alert" type="error" showIcon message={error} />}
    </Modal>
  );
}

/** Moves a department under another one, or to the top level. A move under its own sub-department is refused by the server: its message shows here. */
export function DeptMoveModal({ dept, onDone, onCancel }: { dept: DeptNodeView; onDone(node: DeptNodeView, oldParent: DeptId | null): void; onCancel(): void }) {
  const { t } = useI18n();
  const [where, setWhere] = useState<'top' | 'under'>('under');
  const [target, setTarget] = useState<DeptId | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async () => {
    if (where === 'under' && target === null) {
      setError(t('org.dept.pickTarget'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const node = await api<DeptNodeView>('PATCH', `/depts/${dept.id}`, { body: { parentId: where === 'top' ? null : target } });
      onDone(node, dept.parentId);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open
      title={t('org.dept.moveTitle', { name: dept.path || dept.name })}
      okText={t('org.dept.move')}
      cancelText={t('org.cancel')}
      confirmLoading={busy}
      onOk={() => void submit()}
      onCancel={onCancel}
      okButtonProps={{ id: 'dept-move-ok' }}
      cancelButtonProps={{ id: 'dept-move-cancel' }}
      destroyOnClose
    >
      <Typography.Paragraph type="secondary">{t('org.dept.moveHint')}</Typography.Paragraph>
      <Radio.Group id="dept-move-where" value={where} onChange={(e) => setWhere(e.target.value as 'top' | 'under')} style={{ marginBottom: 12 }}>
        <Radio value="under">{t('org.dept.moveUnder')}</Radio>
        <Radio value="top">{t('org.dept.moveTop')}</Radio>
      </Radio.Group>
      {where === 'under' && (
        <DeptPicker id="dept-move-target" value={target} onChange={(v) => setTarget(typeof v === 'number' ? v : null)} placeholder={t('org.dept.pickTarget')} />
      )}
      {error && <Alert id="dept-move-error" role="alert" type="error" showIcon message={error} style={{ marginTop: 12 }} />}
    </Modal>
  );
}
