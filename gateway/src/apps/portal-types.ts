/**
 * The shapes of the admin API's workbench and portal templates
 * (docs/admin-api-portal.md). Types only: the console imports this file.
 */
import type { DeptId, UserId, WorkbenchView } from '../protocol/client-v1.js';
import type { NamedDept, NamedUser } from './api-types.js';

export interface BannerView {
  /** `default-1`…`default-6` (built in) or the name of an uploaded image. */
  image: string;
  /** The public URL path of the image. */
  url: string;
  link: string | null;
}

/** GET/PUT /api/admin/workbench. */
export interface WorkbenchSettingsView {
  title: string;
  banners: BannerView[];
  /** The six built-in banners to choose from. */
  defaults: { image: string; url: string }[];
  /** Whether this administrator may change the title and banners (whole organisation only). */
  editable: boolean;
  version: number;
  updatedAt: number;
}

export interface WorkbenchInput {
  version: number;
  title?: string;
  banners?: { image: string; link?: string | null }[];
}

/** PUT /api/admin/workbench/images: an uploaded banner image, to use in `banners`. */
export interface BannerImageView {
  image: string;
  url: string;
}

export interface TemplateSummaryView {
  id: number;
  name: string;
  isDefault: boolean;
  /** 1 is the highest; the default template has 0 and always comes last. */
  priority: number;
  apps: number;
  sections: number;
  /** Departments and people named (the default template: everyone). */
  members: { depts: number; users: number };
  version: number;
  updatedAt: number;
}

export interface TemplateListView {
  /** Custom templates by priority, highest first, then the default template. */
  templates: TemplateSummaryView[];
  /** Whether this administrator may reorder the templates (whole organisation only). */
  canReorder: boolean;
}

export interface TemplateAppView {
  id: number;
  key: string;
  name: string;
  logoUrl: string | null;
  enabled: boolean;
}

export interface TemplateDetailView extends TemplateSummaryView {
  sectionsDetail: { title: string; apps: TemplateAppView[] }[];
  /**
   * Who gets the template. For an administrator with a department scope,
   * only the departments and people inside it are named; the others are
   * counted and kept as they are by every change.
   */
  membersDetail: { depts: NamedDept[]; users: NamedUser[]; hiddenDepts: number; hiddenUsers: number };
  /** Whether this administrator may change the name, sections or delete it (every member in their scope). */
  editable: boolean;
  createdAt: number;
}

export interface TemplateInput {
  name: string;
  sections?: { title?: string; apps: number[] }[];
  depts?: DeptId[];
  users?: UserId[];
}

export interface TemplatePatchInput extends Partial<TemplateInput> {
  version: number;
}

/** GET /api/admin/portal/preview?userId=N: what that person's client gets. */
export interface PortalPreviewView {
  user: NamedUser;
  workbench: WorkbenchView;
}
