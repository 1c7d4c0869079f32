import ExcelJS from 'exceljs';
import { HELP_SHEET, MEMBER_COLUMNS, MEMBER_SHEET } from './columns.js';

const EXAMPLES: readonly (readonly string[])[] = [
  ['zhangsan', '张三', '研发部/平台组', '13800138000', 'zhangsan@example.com', '工程师', '男', '', '是'],
  ['lisi', '李四', '市场部；研发部/产品组', '', 'lisi@example.com', '产品经理', '女', 'Initial#2024', '否'],
];

/**
 * The member import template: sheet 成员 with the headers and two example
 * rows (to be replaced), sheet 说明 describing every column. Never throws.
 */
export async function buildTemplate(): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'Huitong';
  const ws = wb.addWorksheet(MEMBER_SHEET, { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.columns = MEMBER_COLUMNS.map((c) => ({ header: c.header, width: c.width }));
  const header = ws.getRow(1);
  header.font = { bold: true };
  MEMBER_COLUMNS.forEach((c, i) => {
    if (c.required) header.getCell(i + 1).font = { bold: true, color: { argb: 'FFC00000' } };
    // text columns, so Excel keeps leading zeros and long numbers as typed
    ws.getColumn(i + 1).numFmt = '@';
  });
  for (const e of EXAMPLES) ws.addRow([...e]);

  const help = wb.addWorksheet(HELP_SHEET);
  help.columns = [{ header: '列', width: 10 }, { header: '是否必填', width: 10 }, { header: '说明', width: 90 }];
  help.getRow(1).font = { bold: true };
  for (const c of MEMBER_COLUMNS) help.addRow([c.header.replace('*', ''), c.required ? '必填' : '可选', c.help]);
  help.addRow([]);
  for (const line of [
    '第 1 行是表头，请勿修改、增删或调换列；从第 2 行起每行一个成员，示例行请删除或替换。',
    '导入前会检查所有行，任何一行有错都不会导入任何数据，并给出逐行的错误报告（可下载为 Excel）。',
    '请勿使用合并单元格或公式；单个文件最多 100000 行、20 MB。',
  ]) help.addRow(['', '', line]);
  return Buffer.from(await wb.xlsx.writeBuffer());
}
