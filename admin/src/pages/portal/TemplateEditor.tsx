import { Alert, Button, Card, Form, Input, Modal, Select, Space, Spin, App as AntApp } from 'antd';
import { useEffect, useState } from 'react';
import { api, errorMessage } from '../../api';
import { DeptPicker } from '../../components/DeptPicker';
import { useI18n } from '../../i18n';
import { PeoplePicker } from '../apps/PeoplePicker';
import { describeError, type AppListView, type TemplateDetailView } from './shared';

type DeptId = TemplateDetailView['membersDetail']['depts'][number]['id'];
type UserId = TemplateDetailView['membersDetail']['users'][number]['id'];
interface Section { title: string; apps: number[] }

/**
 * Makes or changes a custom template: its name, its apps in sections (the
 * order chosen is the order shown), its members (departments with their
 * subdepartments, people). `id` null makes a new one.
 */
export function TemplateEditor({ id, onClose, onSaved }: { id: number | null; onClose(): void; onSaved(): void }) {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const [tpl, setTpl] = useState<TemplateDetailView | null>(null);
  const [apps, setApps] = useState<AppListView['apps']>([]);
  const [name, setName] = useState('');
  const [sections, setSections] = useState<Section[]>([{ title: '', apps: [] }]);
  const [depts, setDepts] = useState<DeptId[]>([]);
  const [users, setUsers] = useState<UserId[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [loading, setLoading] = useState(id !== null);

  useEffect(() => {
    api<AppListView>('GET', '/apps').then((v) => setApps(v.apps.filter((a) => a.peopleFacing)), (err: unknown) => setError(errorMessage(err)));
    if (id === null) return;
    api<TemplateDetailView>('GET', `/portal/templates/${id}`).then(
      (v) => {
        setTpl(v);
        setName(v.name);
        setSections(v.sectionsDetail.map((s) => ({ title: s.title, apps: s.apps.map((a) => a.id) })));
        setDepts(v.membersDetail.depts.map((d) => d.id));
        setUsers(v.membersDetail.users.map((u) => u.id));
        setLoading(false);
      },
      (err: unknown) => {
        setError(errorMessage(err));
        setLoading(false);
      },
    );
  }, [id]);

  const editable = id === null || (tpl?.editable ?? false);
  const set = (i: number, s: Partial<Section>) => setSections((cur) => cur.map((x, j) => (j === i ? { ...x, ...s } : x)));
  const move = (i: number, d: -1 | 1) => setSections((cur) => {
    const next = [...cur];
    const [x] = next.splice(i, 1);
    next.splice(i + d, 0, x as Section);
    return next;
  });
  // an app sits in one section only: those chosen elsewhere are not offered
  const taken = (i: number) => new Set(sections.flatMap((s, j) => (j === i ? [] : s.apps)));

  const save = async () => {
    setSaving(true);
    setError(null);
    const body = {
      ...(editable ? { name: name.trim(), sections: sections.filter((s) => s.apps.length > 0).map((s) => ({ title: s.title.trim(), apps: s.apps })) } : {}),
      depts, users,
    };
    try {
      if (id === null) await api<TemplateDetailView>('POST', '/portal/templates', { body });
      else await api<TemplateDetailView>('PATCH', `/portal/templates/${id}`, { body: { version: tpl?.version, ...body } });
      void message.success(t('portal.saved'));
      onSaved();
    } catch (err) {
      setError(describeError(err, t));
    } finally {
      setSaving(false);
    }
  };

  return (
    <Modal
      open
      width={760}
      title={id === null ? t('portal.createTitle') : t('portal.editorTitle')}
      onCancel={onClose}
      footer={[
        <Button key="c" onClick={onClose}>{t('portal.cancel')}</Button>,
        <Button key="s" id="portal-template-save" type="primary" loading={saving} disabled={loading || (editable && !name.trim())} onClick={() => void save()}>
          {t('portal.save')}
        </Button>,
      ]}
    >
      {loading ? <Spin /> : (
        <Form layout="vertical" id="portal-template-form">
          {!editable && <Alert type="info" showIcon style={{ marginBottom: 12 }} message={t('portal.notEditable')} />}
          <Form.Item label={t('portal.name')} required validateStatus={editable && !name.trim() ? 'error' : undefined}>
            <Input id="portal-template-name" value={name} maxLength={40} disabled={!editable} onChange={(e) => setName(e.target.value)} />
          </Form.Item>
          <Form.Item label={t('portal.sections')}>
            {sections.map((s, i) => (
              <Card key={i} size="small" className="portal-section" style={{ marginBottom: 8 }}>
                <Space style={{ display: 'flex', marginBottom: 8 }}>
                  <Input className="portal-section-title" style={{ width: 260 }} placeholder={t('portal.sectionTitle')} maxLength={20} value={s.title} disabled={!editable} onChange={(e) => set(i, { title: e.target.value })} />
                  <Button size="small" disabled={!editable || i === 0} onClick={() => move(i, -1)}>{t('portal.up')}</Button>
                  <Button size="small" disabled={!editable || i === sections.length - 1} onClick={() => move(i, 1)}>{t('portal.down')}</Button>
                  <Button size="small" danger disabled={!editable || sections.length === 1} onClick={() => setSections((cur) => cur.filter((_, j) => j !== i))}>{t('portal.remove')}</Button>
                </Space>
                <Select<number[]>
                  className="portal-section-apps"
                  mode="multiple"
                  style={{ width: '100%' }}
                  placeholder={t('portal.pickApps')}
                  value={s.apps}
                  disabled={!editable}
                  optionFilterProp="label"
                  onChange={(v) => set(i, { apps: v })}
                  options={apps.filter((a) => !taken(i).has(a.id)).map((a) => ({ value: a.id, label: a.enabled ? a.name : `${a.name} (${t('portal.disabled')})` }))}
                />
              </Card>
            ))}
            <Button id="portal-add-section" disabled={!editable || sections.length >= 20} onClick={() => setSections((cur) => [...cur, { title: '', apps: [] }])}>
              {t('portal.addSection')}
            </Button>
          </Form.Item>
          <Form.Item label={t('portal.memberDepts')}>
            <DeptPicker id="portal-template-depts" multiple value={depts} onChange={(v) => setDepts((v ?? []) as DeptId[])} known={tpl?.membersDetail.depts.map((d) => ({ id: d.id, name: d.path })) ?? []} />
          </Form.Item>
          <Form.Item label={t('portal.memberUsers')}>
            <PeoplePicker id="portal-template-users" value={users} onChange={setUsers} known={tpl?.membersDetail.users ?? []} />
          </Form.Item>
          {tpl && (tpl.membersDetail.hiddenDepts > 0 || tpl.membersDetail.hiddenUsers > 0) && (
            <Alert type="info" showIcon message={t('portal.hiddenMembers', { depts: tpl.membersDetail.hiddenDepts, users: tpl.membersDetail.hiddenUsers })} />
          )}
          {error && <Alert id="portal-template-error" type="error" showIcon style={{ marginTop: 12 }} message={error} />}
        </Form>
      )}
    </Modal>
  );
}
