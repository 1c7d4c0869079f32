import { Alert } from 'antd';

export default function AccessPage() {
  return <Alert type="info" message="…" />;
}
