import { Alert } from 'antd';

export default function ExcelPage() {
  return <Alert type="info" message="…" />;
}
