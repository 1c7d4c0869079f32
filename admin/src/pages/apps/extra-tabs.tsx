import type { ComponentType } from 'react';
import type { MessageKey } from '../../i18n';
import { AutoReplyTab } from './AutoReplyTab';
import { CallbackTab } from './CallbackTab';
import { MenuTab } from './MenuTab';
import { SendTab } from './SendTab';

/**
 * Tabs of the app detail built beside this page (sending, auto-reply, menus,
 * callbacks): each is one import and one entry here, a component taking the
 * app's id in the admin API (`AppDetailView.id`, the `:id` of /api/admin/apps/:id).
 */
export const EXTRA_TABS: { key: string; label: MessageKey; Tab: ComponentType<{ appId: number }> }[] = [
  { key: 'send', label: 'appsSend.tab', Tab: SendTab },
  { key: 'autoReply', label: 'appRules.tab.autoReply', Tab: AutoReplyTab },
  { key: 'menu', label: 'appRules.tab.menu', Tab: MenuTab },
  { key: 'callback', label: 'appRules.tab.callback', Tab: CallbackTab },
];
