import type { Bus } from '../bus/bus.js';

/** Changes within this window reach clients as one `apps.changed` push. */
export const APPS_PUSH_COALESCE_MS = 200;

/**
 * Tells every connected client that apps changed (`apps.changed`, no
 * payload: each client asks `apps.list` again, which resolves visibility for
 * its own user). A burst of changes is one push. start()/stop() bound it.
 */
export class AppsChangedPush {
  private unsubscribe: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly bus: Bus,
    private readonly sessions: { all(): { sendRaw(json: string): boolean }[] },
  ) {}

  start(): void {
    this.unsubscribe = this.bus.subscribe((e) => {
      if (e.type !== 'apps.changed' || this.timer) return;
      this.timer = setTimeout(() => this.flush(), APPS_PUSH_COALESCE_MS);
      this.timer.unref();
    });
  }

  private flush(): void {
    this.timer = null;
    const json = '{"t":"apps.changed","p":{}}';
    for (const s of this.sessions.all()) s.sendRaw(json);
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
