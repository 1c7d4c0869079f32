import type { Bus } from '../bus/bus.js';

/** Changes within this window reach clients as one `workbench.changed` push (as `apps.changed`). */
export const WORKBENCH_PUSH_COALESCE_MS = 200;

/**
 * Tells every connected client that its workbench may have changed
 * (`workbench.changed`, no payload: each client asks `workbench.get` again,
 * which resolves the template for its own user) when the workbench, a
 * portal template or an app changes. A burst of changes is one push.
 * start()/stop() bound it.
 */
export class WorkbenchChangedPush {
  private unsubscribe: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly bus: Bus,
    private readonly sessions: { all(): { sendRaw(json: string): boolean }[] },
  ) {}

  start(): void {
    this.unsubscribe = this.bus.subscribe((e) => {
      if ((e.type !== 'portal.changed' && e.type !== 'apps.changed') || this.timer) return;
      this.timer = setTimeout(() => this.flush(), WORKBENCH_PUSH_COALESCE_MS);
      this.timer.unref();
    });
  }

  private flush(): void {
    this.timer = null;
    const json = '{"t":"workbench.changed","p":{}}';
    for (const s of this.sessions.all()) s.sendRaw(json);
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
