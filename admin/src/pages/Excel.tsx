import { Space } from 'antd';
import { ExportCard } from './excel/ExportCard';
import { ImportCard } from './excel/ImportCard';

/** Import / export (F-3.4, F-3.7): members from the Excel template, the organisation to Excel. */
export default function ExcelPage() {
  return (
    <Space id="excel-page" direction="vertical" size="large" style={{ width: '100%' }}>
      <ImportCard />
      <ExportCard />
    </Space>
  );
}
