import { Alert, App, Button, Form, Input, InputNumber, Modal, Popconfirm, Select, Space, Switch, Table, Tag, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import type { AppReply, MatchKind, ReplyRuleView } from '../../../../gateway/src/apps/callbacks-types';
import { api, errorMessage } from '../../api';
import { useI18n, type MessageKey } from '../../i18n';

interface RuleForm {
  match: MatchKind;
  pattern?: string;
  priority: number;
  enabled: boolean;
  kind: 'text' | 'link';
  text?: string;
  title?: string;
  url?: string;
}

/** What a reply says, in one line. */
export function replySummary(r: AppReply | null | undefined): string {
  if (!r) return '';
  const b = r.body as { text?: string; title?: string; url?: string; segments?: { text: string }[] };
  if (r.kind === 'text') return b.text ?? '';
  if (r.kind === 'link') return `${b.title ?? ''} — ${b.url ?? ''}`;
  return (b.segments ?? []).map((s) => s.text).join('');
}

function toReply(v: RuleForm): AppReply {
  return v.kind === 'link' ? { kind: 'link', body: { title: v.title ?? '', url: v.url ?? '' } } : { kind: 'text', body: { text: v.text ?? '' } };
}

/** Keyword auto-reply rules of an app (GET/POST/PUT/DELETE /apps/:id/rules). */
export function AutoReplyTab({ appId }: { appId: number }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [rules, setRules] = useState<ReplyRuleView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<ReplyRuleView | 'new' | null>(null);
  const [saving, setSaving] = useState(false);
  const [form] = Form.useForm<RuleForm>();
  const match = Form.useWatch('match', form);
  const kind = Form.useWatch('kind', form);

  const load = useCallback(() => {
    api<{ rules: ReplyRuleView[] }>('GET', `/apps/${appId}/rules`).then((r) => {
      setRules(r.rules);
      setError(null);
    }, (err: unknown) => setError(t('appRules.loadFailed', { msg: errorMessage(err) })));
  }, [appId, t]);
  useEffect(load, [load]);

  const open = (r: ReplyRuleView | 'new') => {
    setEditing(r);
    setError(null);
    if (r === 'new') form.setFieldsValue({ match: 'exact', pattern: '', priority: 0, enabled: true, kind: 'text', text: '', title: '', url: '' });
    else {
      const b = r.reply.body as { text?: string; title?: string; url?: string };
      form.setFieldsValue({
        match: r.match, pattern: r.pattern, priority: r.priority, enabled: r.enabled,
        kind: r.reply.kind === 'link' ? 'link' : 'text', text: r.reply.kind === 'link' ? '' : replySummary(r.reply), title: b.title ?? '', url: b.url ?? '',
      });
    }
  };

  const save = async () => {
    const v = await form.validateFields();
    setSaving(true);
    try {
      const body = { match: v.match, priority: v.priority, enabled: v.enabled, reply: toReply(v), ...(v.match === 'default' ? {} : { pattern: v.pattern }) };
      if (editing === 'new') await api('POST', `/apps/${appId}/rules`, { body });
      else if (editing) await api('PUT', `/apps/${appId}/rules/${editing.id}`, { body });
      setEditing(null);
      void message.success(t('appRules.saved'));
      load();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setSaving(false);
    }
  };

  const remove = async (r: ReplyRuleView) => {
    try {
      await api('DELETE', `/apps/${appId}/rules/${r.id}`);
      load();
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  const matchLabel = (m: MatchKind) => t(`appRules.match.${m}` as MessageKey);
  return (
    <Space direction="vertical" style={{ width: '100%' }} data-testid="auto-reply-tab">
      <Typography.Paragraph type="secondary">{t('appRules.intro')}</Typography.Paragraph>
      {error && !editing && <Alert type="error" showIcon message={error} data-testid="auto-reply-error" />}
      <Space>
        <Button type="primary" onClick={() => open('new')} data-testid="auto-reply-add">{t('appRules.add')}</Button>
        <Button onClick={load}>{t('appRules.refresh')}</Button>
      </Space>
      <Table<ReplyRuleView>
        rowKey="id" size="small" loading={rules === null && !error} dataSource={rules ?? []} pagination={false}
        locale={{ emptyText: t('appRules.empty') }}
        columns={[
          { title: t('appRules.match'), dataIndex: 'match', render: (m: MatchKind) => <Tag>{matchLabel(m)}</Tag> },
          { title: t('appRules.pattern'), dataIndex: 'pattern', render: (p: string) => <Typography.Text code={p !== ''}>{p}</Typography.Text> },
          { title: t('appRules.priority'), dataIndex: 'priority' },
          { title: t('appRules.reply'), render: (_: unknown, r) => <Typography.Text ellipsis style={{ maxWidth: 320 }}>{replySummary(r.reply)}</Typography.Text> },
          { title: t('appRules.enabled'), dataIndex: 'enabled', render: (e: boolean) => (e ? <Tag color="green">✓</Tag> : <Tag>—</Tag>) },
          {
            title: t('appRules.actions'),
            render: (_: unknown, r) => (
              <Space>
                <Button size="small" onClick={() => open(r)}>{t('appRules.edit')}</Button>
                <Popconfirm title={t('appRules.deleteConfirm')} onConfirm={() => void remove(r)} okText={t('appRules.delete')} cancelText={t('appRules.cancel')}>
                  <Button size="small" danger>{t('appRules.delete')}</Button>
                </Popconfirm>
              </Space>
            ),
          },
        ]}
      />
      <Modal
        open={editing !== null} title={t(editing === 'new' ? 'appRules.ruleTitleNew' : 'appRules.ruleTitleEdit')} onCancel={() => {
          // the dialog's refusal goes with it; it is not an error of the list
          setEditing(null);
          setError(null);
        }}
        onOk={() => void save()} confirmLoading={saving} okText={t('appRules.save')} cancelText={t('appRules.cancel')} destroyOnHidden
      >
        {error && editing && <Alert type="error" showIcon message={error} style={{ marginBottom: 12 }} data-testid="auto-reply-form-error" />}
        <Form<RuleForm> form={form} layout="vertical" name="auto_reply_rule" preserve={false}>
          <Form.Item name="match" label={t('appRules.match')}>
            <Select options={(['exact', 'contains', 'regex', 'default'] as const).map((m) => ({ value: m, label: matchLabel(m) }))} />
          </Form.Item>
          {match !== 'default' && (
            <Form.Item name="pattern" label={t('appRules.pattern')} rules={[{ required: true, whitespace: true, message: t('appRules.patternRequired') }]} extra={match === 'regex' ? t('appRules.regexHint') : undefined}>
              <Input maxLength={200} />
            </Form.Item>
          )}
          <Space>
            <Form.Item name="priority" label={t('appRules.priority')}><InputNumber precision={0} /></Form.Item>
            <Form.Item name="enabled" label={t('appRules.enabled')} valuePropName="checked"><Switch /></Form.Item>
          </Space>
          <Form.Item name="kind" label={t('appRules.replyKind')}>
            <Select options={[{ value: 'text', label: t('appRules.kind.text') }, { value: 'link', label: t('appRules.kind.link') }]} />
          </Form.Item>
          {kind === 'link' ? (
            <>
              <Form.Item name="title" label={t('appRules.replyTitle')} rules={[{ required: true, whitespace: true, message: t('appRules.replyRequired') }]}><Input maxLength={200} /></Form.Item>
              <Form.Item name="url" label={t('appRules.replyUrl')} rules={[{ required: true, type: 'url', message: t('appRules.replyRequired') }]}><Input maxLength={2048} /></Form.Item>
            </>
          ) : (
            <Form.Item name="text" label={t('appRules.replyText')} rules={[{ required: true, whitespace: true, message: t('appRules.replyRequired') }]}>
              <Input.TextArea rows={3} maxLength={2000} />
            </Form.Item>
          )}
        </Form>
      </Modal>
    </Space>
  );
}
