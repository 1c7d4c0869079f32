import { Alert, App, Button, Card, Form, Input, Select, Space, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { MAX_MENU_ITEMS, MAX_MENU_NAME_CHARS, MAX_SUB_ITEMS, type AppReply, type MenuItem, type MenuView } from '../../../../gateway/src/apps/callbacks-types';
import { api, ApiError, errorMessage } from '../../api';
import { useI18n } from '../../i18n';
import { replySummary } from './AutoReplyTab';

interface ItemForm {
  name: string;
  type: 'click' | 'view' | 'parent';
  key?: string;
  url?: string;
  replyText?: string;
  /** The stored reply as JSON, kept as it is unless its text is edited. */
  replyJson?: string | null;
  sub?: ItemForm[];
}

function toForm(i: MenuItem): ItemForm {
  return { name: i.name, type: i.type, key: i.key ?? '', url: i.url ?? '', replyJson: i.reply ? JSON.stringify(i.reply) : null, replyText: replySummary(i.reply), ...(i.sub ? { sub: i.sub.map(toForm) } : {}) };
}

function toItem(f: ItemForm): MenuItem {
  if (f.type === 'parent') return { name: f.name, type: 'parent', sub: (f.sub ?? []).map(toItem) };
  if (f.type === 'view') return { name: f.name, type: 'view', url: f.url ?? '' };
  const text = (f.replyText ?? '').trim();
  const stored = f.replyJson ? (JSON.parse(f.replyJson) as AppReply) : null;
  const reply = !text ? null : stored && replySummary(stored) === f.replyText ? stored : { kind: 'text' as const, body: { text } };
  return { name: f.name, type: 'click', key: f.key ?? '', reply };
}

/** The app's custom menu (GET/PUT /apps/:id/menu): up to 3 items × 5 sub-items. */
export function MenuTab({ appId }: { appId: number }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<{ items: ItemForm[] }>();
  const [menu, setMenu] = useState<MenuView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const items = Form.useWatch('items', form) ?? [];

  const load = useCallback(() => {
    api<MenuView>('GET', `/apps/${appId}/menu`).then((m) => {
      setMenu(m);
      setError(null);
      form.setFieldsValue({ items: m.items.map(toForm) });
    }, (err: unknown) => setError(t('appRules.loadFailed', { msg: errorMessage(err) })));
  }, [appId, form, t]);
  useEffect(load, [load]);

  const save = async () => {
    await form.validateFields();
    // every stored value, including the kept replies that have no field of their own
    const v = form.getFieldsValue(true) as { items?: ItemForm[] };
    setSaving(true);
    setError(null);
    try {
      const m = await api<MenuView>('PUT', `/apps/${appId}/menu`, { body: { items: (v.items ?? []).map(toItem), version: menu?.version ?? 0 } });
      setMenu(m);
      form.setFieldsValue({ items: m.items.map(toForm) });
      void message.success(t('appRules.saved'));
    } catch (err) {
      setError(err instanceof ApiError && err.status === 409 ? t('appRules.menuStale') : errorMessage(err));
    } finally {
      setSaving(false);
    }
  };

  const typeOptions = (top: boolean) => [
    { value: 'click', label: t('appRules.menuType.click') },
    { value: 'view', label: t('appRules.menuType.view') },
    ...(top ? [{ value: 'parent', label: t('appRules.menuType.parent') }] : []),
  ];
  const nameRule = { required: true, whitespace: true, max: MAX_MENU_NAME_CHARS, message: t('appRules.menuNameRequired') };

  const fields = (prefix: (string | number)[], type: string | undefined, top: boolean) => (
    <>
      <Space wrap align="start">
        <Form.Item name={[...prefix, 'name']} label={t('appRules.menuName')} rules={[nameRule]}><Input style={{ width: 160 }} /></Form.Item>
        <Form.Item name={[...prefix, 'type']} label={t('appRules.menuType')}><Select style={{ width: 130 }} options={typeOptions(top)} /></Form.Item>
        {type === 'click' && <Form.Item name={[...prefix, 'key']} label={t('appRules.menuKey')} rules={[{ required: true, pattern: /^[A-Za-z0-9_.:-]{1,64}$/, message: t('appRules.menuKey') }]}><Input style={{ width: 160 }} /></Form.Item>}
        {type === 'view' && <Form.Item name={[...prefix, 'url']} label={t('appRules.menuUrl')} rules={[{ required: true, type: 'url', message: t('appRules.menuUrl') }]}><Input style={{ width: 320 }} /></Form.Item>}
      </Space>
      {type === 'click' && <Form.Item name={[...prefix, 'replyText']} label={t('appRules.menuReply')}><Input.TextArea rows={2} maxLength={2000} /></Form.Item>}
    </>
  );

  return (
    <Space direction="vertical" style={{ width: '100%' }} data-testid="menu-tab">
      <Typography.Paragraph type="secondary">{t('appRules.menuIntro')}</Typography.Paragraph>
      {error && <Alert type="error" showIcon message={error} data-testid="menu-error" />}
      <Form form={form} layout="vertical" name="app_menu" onFinish={() => void save()}>
        <Form.List name="items">
          {(list, { add, remove }) => (
            <Space direction="vertical" style={{ width: '100%' }}>
              {list.length === 0 && <Typography.Text type="secondary">{t('appRules.menuEmpty')}</Typography.Text>}
              {list.map((f, i) => (
                <Card key={f.key} size="small" title={t('appRules.menuItem', { n: i + 1 })} extra={<Button size="small" danger onClick={() => remove(f.name)}>{t('appRules.menuRemove')}</Button>}>
                  {fields([f.name], items[i]?.type, true)}
                  {items[i]?.type === 'parent' && (
                    <Form.List name={[f.name, 'sub']}>
                      {(subs, s) => (
                        <Space direction="vertical" style={{ width: '100%', paddingLeft: 24, boxSizing: 'border-box' }}>
                          {subs.map((sf, j) => (
                            <Card key={sf.key} size="small" type="inner" extra={<Button size="small" danger onClick={() => s.remove(sf.name)}>{t('appRules.menuRemove')}</Button>}>
                              {fields([sf.name], items[i]?.sub?.[j]?.type, false)}
                            </Card>
                          ))}
                          <Button size="small" disabled={subs.length >= MAX_SUB_ITEMS} onClick={() => s.add({ name: '', type: 'click', key: '' })}>{t('appRules.menuAddSub')}</Button>
                        </Space>
                      )}
                    </Form.List>
                  )}
                </Card>
              ))}
              <Button disabled={list.length >= MAX_MENU_ITEMS} onClick={() => add({ name: '', type: 'click', key: '' })} data-testid="menu-add">{t('appRules.menuAdd')}</Button>
            </Space>
          )}
        </Form.List>
        <Space style={{ marginTop: 16 }}>
          <Button type="primary" htmlType="submit" loading={saving} disabled={menu === null} data-testid="menu-save">{t('appRules.save')}</Button>
          <Button onClick={load}>{t('appRules.refresh')}</Button>
        </Space>
      </Form>
    </Space>
  );
}
