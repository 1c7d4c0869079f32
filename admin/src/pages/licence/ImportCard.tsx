import { Alert, Card, Space, Typography, Upload } from 'antd';
import { useState } from 'react';
import type { ImportResult } from '../../../../gateway/src/admin/api-types-system';
import { api, ApiError, errorMessage } from '../../api';
import { useI18n, type MessageKey, type Translate } from '../../i18n';

/** The server's limit for a licence file (docs/licence.md). */
export const MAX_LICENCE_FILE_BYTES = 64 * 1024;

const REASONS = ['malformed', 'bad_signature', 'wrong_product', 'expired', 'not_yet_valid'] as const;
type Reason = (typeof REASONS)[number];

type Outcome =
  | { kind: 'accepted'; result: ImportResult }
  | { kind: 'refused'; reason: Reason | null; title: string; detail: string | null };

function refusal(err: unknown, t: Translate): Outcome {
  if (err instanceof ApiError && err.code === 'GW_LICENCE_INVALID') {
    const raw = (err.details as { reason?: unknown } | undefined)?.reason;
    const reason = REASONS.find((r) => r === raw) ?? null;
    return { kind: 'refused', reason, title: reason ? t(`licence.reason.${reason}` as MessageKey) : t('licence.import.refused'), detail: err.message };
  }
  if (err instanceof ApiError && err.code === 'GW_CONFLICT') return { kind: 'refused', reason: null, title: t('licence.import.conflict'), detail: err.message };
  return { kind: 'refused', reason: null, title: t('licence.import.refused'), detail: errorMessage(err) };
}

/**
 * Imports a licence file (F-2.3): the file is read in the browser and its text
 * POSTed to /licence as {file}; the server verifies it. Shows what was accepted
 * (company, seats, expiry) or why it was refused, and tells the page to reload.
 */
export function ImportCard({ onImported }: { onImported(result: ImportResult): void }) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  const importFile = async (file: File) => {
    setOutcome(null);
    if (file.size > MAX_LICENCE_FILE_BYTES) {
      setOutcome({ kind: 'refused', reason: 'malformed', title: t('licence.reason.malformed'), detail: t('licence.import.tooLarge') });
      return;
    }
    setBusy(true);
    try {
      const text = await file.text();
      const result = await api<ImportResult>('POST', '/licence', { body: { file: text } });
      setOutcome({ kind: 'accepted', result });
      onImported(result);
    } catch (err) {
      setOutcome(refusal(err, t));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title={t('licence.import.title')} id="licence-import-card" size="small">
      <Space direction="vertical" style={{ width: '100%' }}>
        <div id="licence-import">
          <Upload.Dragger
            accept=".json,.lic,.txt,application/json"
            multiple={false}
            showUploadList={false}
            disabled={busy}
            beforeUpload={(file) => {
              void importFile(file);
              // nothing is uploaded by the component itself: the text goes through the API
              return Upload.LIST_IGNORE;
            }}
          >
            <p className="ant-upload-text">{busy ? t('licence.import.busy') : t('licence.import.drop')}</p>
            <p className="ant-upload-hint">{t('licence.import.hint')}</p>
          </Upload.Dragger>
        </div>
        {outcome?.kind === 'accepted' && <Accepted result={outcome.result} />}
        {outcome?.kind === 'refused' && (
          <Alert
            data-testid="licence-import-result"
            data-outcome="refused"
            data-reason={outcome.reason ?? ''}
            type="error"
            showIcon
            message={`${t('licence.import.refused')}: ${outcome.title}`}
            description={outcome.detail}
          />
        )}
      </Space>
    </Card>
  );
}

function Accepted({ result }: { result: ImportResult }) {
  const { t } = useI18n();
  const s = result.status;
  if (!result.changed) {
    return <Alert data-testid="licence-import-result" data-outcome="unchanged" type="info" showIcon message={t('licence.import.same', { id: result.licenceId })} />;
  }
  return (
    <Alert
      data-testid="licence-import-result"
      data-outcome="accepted"
      type="success"
      showIcon
      message={t('licence.import.ok', { id: result.licenceId, company: s.company ?? '—', seats: s.seats, expires: s.expiresAt ?? '—' })}
      description={result.replaced ? <Typography.Text>{t('licence.import.replaced', { id: result.replaced })}</Typography.Text> : undefined}
    />
  );
}
