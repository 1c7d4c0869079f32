import type { AppSendableKind, BodyByKind } from '../protocol/client-v1.js';

/* Types of the console's app-sending API (docs/admin-api.md "Apps: sending"); the console imports them. */

/** What the console sends to POST /api/admin/apps/:id/send and …/send/preview. */
export interface AppSendRequestView {
  /** People by id, departments by id (with their subdepartments), or everyone. */
  target: { userIds?: number[]; deptIds?: number[]; all?: boolean };
  /** The message in the open API's shape: msgType and its object (docs/open-api.md "msg/send"). */
  message: { msgType: string; body: unknown };
}

/** What the console shows before sending: the message as clients will receive it. */
export interface AppSendPreviewView {
  kind: AppSendableKind;
  body: BodyByKind[AppSendableKind];
  app: { id: string; name: string };
}

export interface AppSendResultView extends AppSendPreviewView {
  messageId: number;
  delivered: number;
  invalidUsers: string[];
  invalidDepts: number[];
  outside: string[];
}

/** What POST /api/admin/apps/:id/media answers: a media id the message may name. */
export interface AppMediaView {
  mediaId: string;
  name: string;
  size: number;
  type: 'image' | 'file' | 'voice' | 'video';
}
