import { Table, Tag } from 'antd';
import type { HTMLAttributes } from 'react';
import { columnLetter, MEMBER_COLUMNS, type MemberColumn } from '../../../../gateway/src/excel/columns';
import { useI18n } from '../../i18n';
import { columnHelpEn } from '../../messages/excel';

/** The template's columns, from the same definitions the gateway builds the template with. */
export function ColumnsTable() {
  const { t, lang } = useI18n();
  const rows = MEMBER_COLUMNS.map((c, i) => ({ ...c, letter: columnLetter(i + 1) }));
  return (
    <Table<MemberColumn & { letter: string }>
      id="excel-columns"
      size="small"
      pagination={false}
      rowKey="field"
      dataSource={rows}
      onRow={(c) => ({ 'data-testid': 'excel-column', 'data-field': c.field }) as HTMLAttributes<HTMLElement>}
      columns={[
        { title: t('excel.columns.letter'), dataIndex: 'letter', width: 56 },
        {
          title: t('excel.columns.header'),
          key: 'header',
          width: 170,
          render: (_: unknown, c) => (
            <span>
              <strong>{c.header.replace(/\*$/, '')}</strong>
              {lang === 'en' && <span style={{ color: '#888' }}> ({columnHelpEn[c.field].name})</span>}
            </span>
          ),
        },
        {
          title: t('excel.columns.required'),
          key: 'required',
          width: 90,
          render: (_: unknown, c) => (c.required ? <Tag color="red">{t('excel.columns.required')}</Tag> : <Tag>{t('excel.columns.optional')}</Tag>),
        },
        { title: t('excel.columns.rule'), key: 'help', render: (_: unknown, c) => (lang === 'en' ? columnHelpEn[c.field].help : c.help) },
      ]}
    />
  );
}
