import { Form, Select } from 'antd';
import { useEffect, useState } from 'react';
import type { DeptNodeView, MemberDeptView } from '../../../../gateway/src/admin/api-types-org';
import { api } from '../../api';
import { DeptPicker } from '../../components/DeptPicker';
import { useI18n } from '../../i18n';
import { memberRules } from './member-rules';
import type { DeptId } from './use-dept-tree';

/**
 * A member's departments (several) and the main one, as two fields of the
 * surrounding form: `deptIds` and `mainDeptId`. The main department follows
 * the list: when it is removed, the first remaining one becomes main.
 */
export function MemberDeptFields({ known, idPrefix }: { known: readonly MemberDeptView[] | readonly { id: DeptId; name: string }[]; idPrefix: string }) {
  const { t } = useI18n();
  const form = Form.useFormInstance<{ deptIds?: DeptId[]; mainDeptId?: DeptId }>();
  const deptIds = Form.useWatch('deptIds', form) ?? [];
  const [names, setNames] = useState<Map<DeptId, string>>(() => new Map(known.map((k) => [k.id, k.name] as const)));

  useEffect(() => {
    setNames((cur) => {
      const next = new Map(cur);
      for (const k of known) next.set(k.id, k.name);
      return next;
    });
  }, [known]);

  // a department picked in the tree is named by its full path
  const missing = deptIds.filter((id) => !names.has(id)).join(',');
  useEffect(() => {
    if (!missing) return;
    let live = true;
    for (const id of missing.split(',').map(Number) as DeptId[]) {
      api<DeptNodeView>('GET', `/depts/${id}`).then(
        (d) => live && setNames((cur) => new Map(cur).set(d.id, d.path || d.name)),
        () => live && setNames((cur) => new Map(cur).set(id, `#${id}`)),
      );
    }
    return () => {
      live = false;
    };
  }, [missing]);

  // the main department is always one of the departments
  const main = Form.useWatch('mainDeptId', form);
  const key = deptIds.join(',');
  useEffect(() => {
    const ids = key ? (key.split(',').map(Number) as DeptId[]) : [];
    if (ids.length === 0) {
      if (main !== undefined) form.setFieldValue('mainDeptId', undefined);
    } else if (main === undefined || !ids.includes(main)) {
      form.setFieldValue('mainDeptId', ids[0]);
    }
  }, [key, main, form]);

  const knownForPicker = [...names].map(([id, name]) => ({ id, name }));
  return (
    <>
      <Form.Item name="deptIds" label={t('org.dept')} rules={memberRules(t).deptIds}>
        <DeptPicker id={`${idPrefix}-depts`} multiple known={knownForPicker} />
      </Form.Item>
      <Form.Item name="mainDeptId" label={t('org.mainDept')} extra={t('org.mainDeptHint')}>
        <Select<DeptId>
          id={`${idPrefix}-main-dept`}
          disabled={deptIds.length < 2}
          options={deptIds.map((id) => ({ value: id, label: names.get(id) ?? t('loading') }))}
        />
      </Form.Item>
    </>
  );
}
