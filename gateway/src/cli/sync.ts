import { parseArgs } from 'node:util';
import { EXIT_CODES } from '../errors/registry.js';
import type { RunCounts } from '../../../sync/src/engine/types.js';
import type { SyncStatusView } from '../sync/control.js';
import type { RunView } from '../sync/types.js';

export const SYNC_USAGE = `Usage:
  huitong sync status [--json]                 every directory source: schedule, next run, last run, last error
  huitong sync run <source> [--dry-run] [--yes] [--json]
                                               runs a source now, with progress; --dry-run only plans (nothing changes);
                                               --yes applies even when the safety brake would hold the plan
  huitong sync runs [--source S] [--limit N] [--json]
  huitong sync confirm <run-id>                applies a plan the safety brake held
  huitong sync cancel <run-id>

All act on the appliance (--data DIR, --config FILE as for every admin command):
through the running server's admin socket, or in this process when none runs.
`;

export interface SyncCliContext {
  control(name: string, args: Record<string, unknown>): Promise<unknown>;
  /** True when a server runs on the data dir (its admin socket answers). */
  serverRunning(): Promise<boolean>;
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
  /** Draw a progress bar (stderr is a terminal). */
  tty?: boolean;
}

const ACTIVE = new Set(['reading', 'planning', 'applying']);
const POLL_WAIT_MS = 1000;
const BAR_WIDTH = 30;

/** `huitong sync …`: args are what follows `sync`. Returns the exit code. */
export async function runSync(args: string[], ctx: SyncCliContext): Promise<number> {
  const out = ctx.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = ctx.stderr ?? ((s: string) => void process.stderr.write(s));
  const tty = ctx.tty ?? process.stderr.isTTY === true;
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        'dry-run': { type: 'boolean' }, yes: { type: 'boolean', short: 'y' }, json: { type: 'boolean' }, source: { type: 'string' }, limit: { type: 'string' },
        config: { type: 'string' }, data: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    err(`huitong: ${(e as Error).message}\n\n${SYNC_USAGE}`);
    return EXIT_CODES.USAGE;
  }
  const { values: v, positionals: pos } = parsed;
  const usage = (m: string) => (err(`huitong: ${m}\n\n${SYNC_USAGE}`), EXIT_CODES.USAGE);
  if (v.help) return (out(SYNC_USAGE), EXIT_CODES.OK);
  const sub = pos[0];

  if (sub === 'status' && pos.length === 1) {
    const r = (await ctx.control('sync.status', {})) as SyncStatusView;
    if (v.json) return (out(`${JSON.stringify(r, null, 2)}\n`), EXIT_CODES.OK);
    if (r.sources.length === 0) out('no directory sources yet: add one in the console (Settings → Sync)\n');
    for (const s of r.sources) {
      out(
        `${s.id} (${s.kind}) ${s.name}${s.enabled ? '' : ' [disabled]'}${s.runningRunId !== null ? ` — run ${s.runningRunId} in progress` : ''}\n` +
          `  schedule:  ${s.schedule ? `${s.schedule} (${s.scheduleText?.en ?? ''})` : 'manual only'}${s.nextRunAt ? `, next ${new Date(s.nextRunAt).toLocaleString()}` : ''}\n` +
          (s.lastRun ? `  last run:  ${runLine(s.lastRun)}\n` : '  last run:  none\n') +
          (s.lastError ? `  error:     ${s.lastError}\n` : ''),
      );
    }
    return EXIT_CODES.OK;
  }

  if (sub === 'runs' && pos.length === 1) {
    if (v.limit !== undefined && !/^\d{1,3}$/.test(v.limit)) return usage('--limit must be a number');
    const r = (await ctx.control('sync.runs', { source: v.source, limit: v.limit === undefined ? 20 : Number(v.limit) })) as { runs: RunView[] };
    out(v.json ? `${JSON.stringify(r, null, 2)}\n` : r.runs.map((x) => `${runLine(x)}\n`).join('') || 'no sync runs yet\n');
    return EXIT_CODES.OK;
  }

  if ((sub === 'confirm' || sub === 'cancel') && pos.length === 2) {
    if (!/^\d{1,15}$/.test(pos[1] as string)) return usage('give the run id (see huitong sync runs)');
    const id = Number(pos[1]);
    if (sub === 'cancel') {
      const r = (await ctx.control('sync.cancel', { id })) as RunView;
      out(`run ${id}: cancel requested (${r.state})\n`);
      return EXIT_CODES.OK;
    }
    const local = !(await ctx.serverRunning());
    const r = (await ctx.control('sync.confirm', { id, wait: local })) as RunView;
    return local ? finish(r, v.json === true, out, err) : follow(r, ctx, v.json === true, tty, out, err);
  }

  if (sub === 'run' && pos.length === 2) {
    const source = pos[1] as string;
    const dryRun = v['dry-run'] === true;
    const local = !(await ctx.serverRunning());
    if (local) err(`no server is running on this data directory: the run happens in this process\n`);
    const r = (await ctx.control('sync.run', { source, dryRun, yes: v.yes === true, wait: local })) as RunView;
    if (!v.json) err(`run ${r.id} of ${source} started${dryRun ? ' (dry run: nothing will change)' : ''}\n`);
    return local ? finish(r, v.json === true, out, err) : follow(r, ctx, v.json === true, tty, out, err);
  }

  return usage(`unknown command: sync ${pos.join(' ')}`);
}

/** Polls the run until it ends, drawing its progress. */
async function follow(first: RunView, ctx: SyncCliContext, json: boolean, tty: boolean, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let r = first;
  let lastLine = '';
  while (ACTIVE.has(r.state)) {
    const line = progressText(r, tty);
    if (!json && line !== lastLine) {
      if (tty) err(`\r${line}\u001b[K`);
      else err(`${line}\n`);
      lastLine = line;
    }
    r = (await ctx.control('sync.run.get', { id: r.id, waitMs: POLL_WAIT_MS })) as RunView;
  }
  if (tty && lastLine && !json) err('\n');
  return finish(r, json, out, err);
}

function progressText(r: RunView, tty: boolean): string {
  const p = r.progress;
  if (!p) return `${r.state}…`;
  if (p.total === null || p.total === 0) return `${p.phase}${p.done ? ` ${p.done}` : ''}…`;
  const frac = Math.min(1, p.done / p.total);
  const pct = `${Math.floor(frac * 100)}%`.padStart(4);
  if (!tty) return `${p.phase}: ${p.done}/${p.total} (${pct.trim()})`;
  const full = Math.round(frac * BAR_WIDTH);
  return `[${'#'.repeat(full)}${'.'.repeat(BAR_WIDTH - full)}] ${pct} ${p.phase} ${p.done}/${p.total}`;
}

function finish(r: RunView, json: boolean, out: (s: string) => void, err: (s: string) => void): number {
  if (json) out(`${JSON.stringify(r, null, 2)}\n`);
  else {
    out(`${runLine(r)}\n${countsText(r.counts)}`);
    for (const e of r.errors.slice(0, 20)) err(`  ${e.op === 'conflict' ? 'conflict' : 'error'}: ${e.kind} ${e.label} (${e.externalId}): ${e.message}\n`);
    if (r.errorCount > 20) err(`  … ${r.errorCount - 20} more (huitong sync runs --json, or the plan in the console)\n`);
  }
  if (r.state === 'needs_confirmation') {
    err(`the safety brake held run ${r.id}: it would disable or delete ${r.brake?.affected} of ${r.brake?.ownedUsers} users (${r.brake?.percent} %, more than ${r.brake?.limit} %).\n` +
      `Look at the plan in the console (Settings → Sync), then: huitong sync confirm ${r.id}   (or run again with --yes)\n`);
    return EXIT_CODES.FAILURE;
  }
  return r.state === 'applied' || r.state === 'planned' ? EXIT_CODES.OK : EXIT_CODES.FAILURE;
}

function runLine(r: RunView): string {
  const took = r.timings?.totalMs !== undefined ? ` in ${r.timings.totalMs} ms` : '';
  return `#${r.id} ${r.sourceId} ${r.dryRun ? 'dry run ' : ''}${r.state}${took} (${r.trigger}, ${new Date(r.startedAt).toISOString()})${r.errorCount ? `, ${r.errorCount} object errors` : ''}${r.error ? ` — ${r.error}` : ''}`;
}

function countsText(c: RunCounts | null): string {
  if (!c) return '';
  const k = (x: Record<string, number>) => Object.entries(x).filter(([, n]) => n > 0).map(([op, n]) => `${n} ${op}`).join(', ') || 'no change';
  return `  departments: ${k(c.depts)}\n  users:       ${k(c.users)} (${c.unchanged} unchanged, ${c.sourceUsers} in the source)\n  groups:      ${k(c.groups)}\n`;
}
