import { Alert } from 'antd';
import type { MeView } from '../../../gateway/src/admin/api-types';

export default function AdminsPage({ me }: { me: MeView }) {
  return <Alert type="info" message={me.username} />;
}
