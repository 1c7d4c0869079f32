import { Alert, Space, Tag, Typography } from 'antd';
import type { GroupSummaryView } from '../../../../gateway/src/admin/api-types-system';
import { ApiError, errorMessage } from '../../api';
import { useI18n, type Translate } from '../../i18n';

/** From this share of the limit on, a count shows as nearly full. */
export const NEAR_FULL_RATIO = 0.9;

export function OriginTag({ origin }: { origin: string }) {
  const { t } = useI18n();
  if (origin === 'local') return <Tag color="blue">{t('groups.origin.local')}</Tag>;
  if (origin === 'rtx') return <Tag color="purple">{t('groups.origin.rtx')}</Tag>;
  return <Tag>{origin}</Tag>;
}

export type Fullness = 'unlimited' | 'ok' | 'near' | 'full';

export function fullness(g: Pick<GroupSummaryView, 'memberCount' | 'memberLimit'>): Fullness {
  if (g.memberLimit === null) return 'unlimited';
  if (g.memberCount >= g.memberLimit) return 'full';
  return g.memberCount >= g.memberLimit * NEAR_FULL_RATIO ? 'near' : 'ok';
}

/** "998 / 1000", orange when nearly full, red at or over the limit. */
export function MemberCount({ group, testId }: { group: GroupSummaryView; testId?: string }) {
  const { t } = useI18n();
  const f = fullness(group);
  const type = f === 'full' ? 'danger' : f === 'near' ? 'warning' : undefined;
  return (
    <Space size={4} data-testid={testId} data-fullness={f}>
      <Typography.Text type={type} strong={f === 'full' || f === 'near'}>
        {group.memberCount} / {group.memberLimit ?? t('groups.unlimited')}
      </Typography.Text>
      {f === 'full' && <Tag color="red">{t('groups.full')}</Tag>}
      {f === 'near' && <Tag color="orange">{t('groups.nearFull')}</Tag>}
      {group.ownerExempt && <Tag color="gold">{t('groups.exemptTag')}</Tag>}
    </Space>
  );
}

interface LimitDetails {
  limit: number;
  memberCount: number;
  wouldBe: number;
  room: number;
}

function limitDetails(err: ApiError): LimitDetails | null {
  const d = err.details as Partial<Record<keyof LimitDetails, unknown>> | undefined;
  if (!d || typeof d !== 'object') return null;
  const { limit, memberCount, wouldBe, room } = d;
  if (typeof limit !== 'number' || typeof memberCount !== 'number' || typeof wouldBe !== 'number' || typeof room !== 'number') return null;
  return { limit, memberCount, wouldBe, room };
}

/** An error shown in a form or drawer; a refused member limit gets its figures spelled out. */
export interface ShownError {
  title: string;
  description?: string;
}

export function describeError(err: unknown, t: Translate, creating = false): ShownError {
  if (err instanceof ApiError && err.code === 'GW_GROUP_LIMIT') {
    const d = limitDetails(err);
    const figures = d
      ? creating
        ? t('groups.limitRefusedCreate', { limit: d.limit, wouldBe: d.wouldBe })
        : t('groups.limitRefused', { limit: d.limit, count: d.memberCount, room: d.room, wouldBe: d.wouldBe })
      : null;
    return {
      title: t('groups.limitRefusedTitle'),
      description: [figures, t('groups.limitRefusedHint'), t('groups.serverSaid', { message: err.message })].filter(Boolean).join('\n'),
    };
  }
  return { title: errorMessage(err) };
}

export function ErrorAlert({ error, testId, onClose }: { error: ShownError | null; testId: string; onClose?(): void }) {
  if (!error) return null;
  return (
    <Alert
      data-testid={testId}
      type="error"
      showIcon
      closable={!!onClose}
      onClose={onClose}
      message={error.title}
      description={error.description ? <span style={{ whiteSpace: 'pre-line' }}>{error.description}</span> : undefined}
    />
  );
}
