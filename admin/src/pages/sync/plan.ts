import { ApiError, sessionEnded } from '../../api';
import { fileNameOf, saveBlob } from '../excel/transfer';

/** GETs a run's plan (GET /sync/runs/:id/plan) and saves it as the JSON file the server names. Throws ApiError. */
export async function downloadPlan(runId: number): Promise<string> {
  let res: Response;
  try {
    res = await fetch(`/api/admin/sync/runs/${runId}/plan`, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', err instanceof Error ? err.message : String(err));
  }
  if (!res.ok) {
    let envelope: { code?: string; message?: string } | undefined;
    try {
      envelope = ((await res.json()) as { error?: typeof envelope } | null)?.error;
    } catch {
      envelope = undefined;
    }
    const err = new ApiError(res.status, envelope?.code ?? `HTTP_${res.status}`, envelope?.message ?? `${res.status} ${res.statusText}`);
    if (res.status === 401 && err.code === 'GW_TOKEN_INVALID') sessionEnded();
    throw err;
  }
  const name = fileNameOf(res.headers.get('content-disposition'), `sync-run-${runId}-plan.json`);
  saveBlob(new Blob([await res.arrayBuffer()], { type: 'application/json' }), name);
  return name;
}
