import { parseArgs } from 'node:util';
import path from 'node:path';
import { EXIT_CODES } from '../errors/registry.js';
import type { RunCounts, RunView } from '../rtx/types.js';

export const RTX_USAGE = `Usage:
  huitong rtx code                 shows the RTX integration's connection code
  huitong rtx code --regenerate    replaces it (the connected adapter is disconnected)
  huitong rtx sync                 asks the connected RTX adapter for the org now (needs the running server)
  huitong rtx runs [--limit N]     the latest org sync runs (snapshots and imports)
  huitong rtx import-xml FILE [--dry-run]
                                   imports an RTX export XML file (RTX Manager "导出"); --dry-run shows the plan only

All act on the appliance (--data DIR, --config FILE as for every admin command):
through the running server's admin socket, or on the database when none runs.
`;

export interface RtxCliContext {
  /** Runs a control command on the appliance (admin socket, or in-process). */
  control(name: string, args: Record<string, unknown>): Promise<unknown>;
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
}

/**
 * `huitong rtx …`: args are what follows `rtx`. Prints the code on its own
 * line (for scripts), then when it was generated on stderr. Returns the exit code.
 */
export async function runRtx(args: string[], ctx: RtxCliContext): Promise<number> {
  const out = ctx.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = ctx.stderr ?? ((s: string) => void process.stderr.write(s));
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        regenerate: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, limit: { type: 'string' }, json: { type: 'boolean' },
        config: { type: 'string' }, data: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    err(`huitong: ${(e as Error).message}\n\n${RTX_USAGE}`);
    return EXIT_CODES.USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out(RTX_USAGE);
    return EXIT_CODES.OK;
  }
  const sub = positionals[0];
  if (sub === 'sync' && positionals.length === 1) {
    await ctx.control('rtx.sync', {});
    out('sync requested: the adapter reads the RTX org and sends it; see "huitong rtx runs"\n');
    return EXIT_CODES.OK;
  }
  if (sub === 'runs' && positionals.length === 1) {
    if (values.limit !== undefined && !/^\d{1,3}$/.test(values.limit)) {
      err(`huitong: --limit must be a number\n\n${RTX_USAGE}`);
      return EXIT_CODES.USAGE;
    }
    const r = (await ctx.control('rtx.runs', { limit: values.limit === undefined ? 20 : Number(values.limit) })) as { runs: RunView[] };
    out(values.json ? `${JSON.stringify(r, null, 2)}\n` : r.runs.map(runLine).join('') || 'no sync runs yet\n');
    return EXIT_CODES.OK;
  }
  if (sub === 'import-xml' && positionals.length === 2) {
    const file = path.resolve(positionals[1] as string);
    const dryRun = values['dry-run'] === true;
    const r = (await ctx.control('rtx.import-xml', { file, dryRun })) as { runId: number; plan: RunCounts; applied: boolean; warnings: string[] };
    if (values.json) out(`${JSON.stringify(r, null, 2)}\n`);
    else {
      out(`run ${r.runId}: ${r.applied ? 'applied' : 'dry run, nothing changed'}\n${countsText(r.plan)}`);
      for (const w of r.warnings) err(`warning: ${w}\n`);
    }
    return EXIT_CODES.OK;
  }
  if (positionals.length !== 1 || sub !== 'code') {
    err(`huitong: unknown command: rtx ${positionals.join(' ')}\n\n${RTX_USAGE}`);
    return EXIT_CODES.USAGE;
  }
  const view = (await ctx.control(values.regenerate ? 'rtx.code.regenerate' : 'rtx.code', {})) as { code: string; createdAt: number };
  out(`${view.code}\n`);
  err(`${values.regenerate ? 'new connection code' : 'connection code'}, generated ${new Date(view.createdAt).toISOString()}; enter it in the RTX adapter\n`);
  return EXIT_CODES.OK;
}

function countsText(c: RunCounts | null): string {
  if (!c) return '';
  const k = (x: { created: number; updated: number; removed: number }) => `${x.created} created, ${x.updated} updated, ${x.removed} removed`;
  return (
    `  departments: ${k(c.depts)}\n` +
    `  users:       ${k(c.users)}${c.users.adopted ? ` (${c.users.adopted} local users adopted)` : ''}\n` +
    `  groups:      ${k(c.groups)}\n` +
    (c.unauthorised ? `  ${c.unauthorised} new users left unauthorised\n` : '')
  );
}

function runLine(r: RunView): string {
  const when = new Date(r.startedAt).toISOString();
  const took = r.finishedAt !== null ? ` (${r.finishedAt - r.startedAt} ms)` : '';
  return `#${r.id} ${when} ${r.source} ${r.state}${took}${r.reason ? ` — ${r.reason}` : ''}${r.error ? `\n  error: ${r.error}` : ''}\n${countsText(r.counts)}`;
}
