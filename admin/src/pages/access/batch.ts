/**
 * The member switches of the authorisation page, run one member at a time
 * (the server's seat gate is per request), with the outcome of each.
 */
import type { MemberView } from '../../../../gateway/src/admin/api-types-org';
import { api, ApiError, errorMessage } from '../../api';

export type AccessAction = 'authorise' | 'deauthorise' | 'block' | 'unblock';

/** Answers that end a batch: no later member could succeed either. */
const STOPPING = new Set(['GW_LICENCE_SEATS_FULL', 'GW_LICENCE_EXPIRED']);

export interface BatchFailure {
  member: MemberView;
  /** 1-based position of the member in the batch. */
  position: number;
  code: string;
  message: string;
}

export interface BatchResult {
  action: AccessAction;
  total: number;
  done: MemberView[];
  failed: BatchFailure[];
  /** Set when a licence refusal stopped the batch; the members after it were not tried. */
  stopped: BatchFailure | null;
}

/**
 * Applies `action` to each member in order. A licence refusal (seats full,
 * licence expired) stops the run; any other refusal is recorded and the run
 * goes on. Never throws.
 */
export async function runBatch(action: AccessAction, members: MemberView[], onProgress?: (done: number) => void): Promise<BatchResult> {
  const result: BatchResult = { action, total: members.length, done: [], failed: [], stopped: null };
  for (const [i, m] of members.entries()) {
    try {
      result.done.push(await api<MemberView>('POST', `/members/${m.id}/${action}`));
    } catch (err) {
      const failure = { member: m, position: i + 1, code: err instanceof ApiError ? err.code : 'NETWORK', message: errorMessage(err) };
      result.failed.push(failure);
      if (STOPPING.has(failure.code)) {
        result.stopped = failure;
        break;
      }
    }
    onProgress?.(i + 1);
  }
  return result;
}
