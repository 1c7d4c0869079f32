import type { Endpoint } from './endpoint.js';
import { TOKEN_ENDPOINTS } from './endpoints/token.js';
import { MESSAGE_ENDPOINTS } from './endpoints/messages.js';
import { MEDIA_ENDPOINTS } from './endpoints/media.js';
import { NOTICE_ENDPOINTS } from './endpoints/notice.js';
import { IDENTIFY_ENDPOINTS } from './endpoints/identify.js';
import { DEPT_ENDPOINTS } from './endpoints/org-depts.js';
import { USER_ENDPOINTS } from './endpoints/org-users.js';
import { ORG_SYNC_ENDPOINTS } from './endpoints/org-sync.js';
import { GROUP_ENDPOINTS } from './endpoints/groups.js';
import { SESSION_ENDPOINTS } from './endpoints/sessions.js';

/** Every endpoint of the open API (docs/open-api.md lists them with their status). */
export const OPEN_API_ENDPOINTS: readonly Endpoint[] = [
  ...TOKEN_ENDPOINTS,
  ...MESSAGE_ENDPOINTS,
  ...MEDIA_ENDPOINTS,
  ...NOTICE_ENDPOINTS,
  ...IDENTIFY_ENDPOINTS,
  ...DEPT_ENDPOINTS,
  ...USER_ENDPOINTS,
  ...ORG_SYNC_ENDPOINTS,
  ...GROUP_ENDPOINTS,
  ...SESSION_ENDPOINTS,
];
