import { TreeSelect } from 'antd';
import { useEffect, useState } from 'react';
import type { DeptListView, DeptNodeView } from '../../../gateway/src/admin/api-types-org';
import { api, errorMessage } from '../api';
import { useI18n } from '../i18n';

type DeptId = DeptNodeView['id'];

interface Option {
  id: DeptId;
  pId: DeptId | 0;
  value: DeptId;
  title: string;
  isLeaf: boolean;
}

function option(d: DeptNodeView, top: boolean): Option {
  // a scoped administrator's top level shows full paths, so "华东" is never ambiguous
  return { id: d.id, pId: top ? 0 : (d.parentId ?? 0), value: d.id, title: top && d.path ? d.path : d.name, isLeaf: !d.hasChildren };
}

export interface DeptPickerProps {
  value?: DeptId[] | DeptId | null;
  onChange?(value: DeptId[] | DeptId | null): void;
  multiple?: boolean;
  placeholder?: string;
  disabled?: boolean;
  id?: string;
  /** Names of departments already chosen but not yet loaded in the tree (e.g. a member's current departments). */
  known?: { id: DeptId; name: string }[];
  style?: React.CSSProperties;
}

/**
 * Chooses one or several departments from the lazily loaded tree the admin
 * may see (GET /api/admin/depts), as a form control (value/onChange).
 */
export function DeptPicker({ value, onChange, multiple, placeholder, disabled, id, known, style }: DeptPickerProps) {
  const { t } = useI18n();
  const [options, setOptions] = useState<Option[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api<DeptListView>('GET', '/depts', { query: { parentId: 'root' } }).then(
      (list) => setOptions(list.depts.map((d) => option(d, true))),
      (err: unknown) => setError(errorMessage(err)),
    );
  }, []);

  const loadData = async ({ id: parent }: { id?: DeptId }): Promise<void> => {
    if (parent === undefined || options.some((o) => o.pId === parent)) return;
    try {
      const list = await api<DeptListView>('GET', '/depts', { query: { parentId: parent } });
      setOptions((cur) => {
        const have = new Set(cur.map((o) => o.id));
        return [...cur, ...list.depts.filter((d) => !have.has(d.id)).map((d) => option(d, false))];
      });
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  // chosen departments the tree has not loaded yet still show their names
  const loaded = new Set(options.map((o) => o.id));
  const extra = (known ?? []).filter((k) => !loaded.has(k.id)).map((k) => ({ id: k.id, pId: -1 as unknown as DeptId, value: k.id, title: k.name, isLeaf: true }));

  return (
    <TreeSelect<DeptId[] | DeptId | null>
      id={id}
      style={{ width: '100%', ...style }}
      treeDataSimpleMode={{ id: 'id', pId: 'pId' }}
      treeData={[...options, ...extra]}
      loadData={(node) => loadData(node as unknown as { id?: DeptId })}
      value={value ?? (multiple ? [] : null)}
      onChange={(v) => onChange?.(v)}
      multiple={multiple}
      treeCheckable={false}
      showSearch={false}
      allowClear
      disabled={disabled}
      placeholder={error ?? placeholder ?? t('picker.dept')}
      status={error ? 'error' : undefined}
      popupMatchSelectWidth={false}
      listHeight={360}
    />
  );
}
