import type { Logger } from '../log.js';
import type { CallbackOverride, CallbackQueue } from './callback-queue.js';
import type { AppService } from './service.js';

/** errcode of the completion event of a full sync that stopped (wire spec §7: −1 system error). */
export const REPLACE_FAILED_ERRCODE = -1;

export interface ReplaceOutcome {
  jobId: string;
  /** 0 when the job is done, REPLACE_FAILED_ERRCODE when it stopped. */
  errcode: number;
  /** What getjobresult's desc says: the summary, or where it stopped. */
  errmsg: string;
}

/**
 * Queues the completion event of an org/replaceall job (wire spec §3.6, §6;
 * docs/apps-callbacks.md "Full-sync completion") for the app that started it:
 * `{fromUser: "sysOrgAssistant", msgType: "event", event: {type:
 * "org_replace_all", jobId, errcode, errmsg}}`, to the request's own
 * `callback: {url, token}` when it gave one, otherwise to the app's callback.
 * Encrypted with that app's key, through the persisted queue (retried, outbound
 * guard). Nothing is queued when neither target exists or the app is gone or
 * disabled. Never throws: the job's result stands whatever happens here.
 */
export function queueReplaceDone(deps: { apps: AppService; callbacks: CallbackQueue; log: Logger }, appRow: number, outcome: ReplaceOutcome, to: CallbackOverride | null): number | null {
  try {
    const app = deps.apps.get(appRow);
    if (!app) return null;
    return deps.callbacks.enqueue(app, 'sysOrgAssistant', 'event', {
      event: { type: 'org_replace_all', jobId: outcome.jobId, errcode: outcome.errcode, errmsg: outcome.errmsg },
    }, to);
  } catch (e) {
    deps.log.error({ err: e, jobId: outcome.jobId }, 'the org/replaceall completion callback could not be queued');
    return null;
  }
}
