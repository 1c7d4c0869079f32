import type { AppEntry, UserId, WorkbenchView } from '../protocol/client-v1.js';
import type { ResolvedPortal } from './portal.js';
import { appEntries } from './visible.js';
import { bannerUrl, type WorkbenchSettings } from './workbench.js';

/**
 * The workbench a client gets (docs/protocol/client-v1.md "workbench.get"):
 * the title and banners, and the resolved template's sections with each app
 * as `apps.list` describes it. The default template's one section is in the
 * order of `apps.list`; a custom template's in the order the administrator chose.
 */
export function workbenchView(settings: WorkbenchSettings, resolved: ResolvedPortal, userId: UserId, logoPath: string): WorkbenchView {
  const t = resolved.template;
  return {
    title: settings.title,
    banners: settings.banners.map((b) => ({ imageUrl: bannerUrl(b.image), link: b.link })),
    sections: resolved.sections.map((s) => ({
      title: s.title,
      apps: t.isDefault ? appEntries(s.apps, userId, logoPath) : s.apps.flatMap((a): AppEntry[] => appEntries([a], userId, logoPath)),
    })),
    template: { id: t.id, name: t.name, isDefault: t.isDefault },
  };
}
