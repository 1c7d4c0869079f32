import { parseArgs } from 'node:util';
import { EXIT_CODES } from '../errors/registry.js';

export const RTX_USAGE = `Usage:
  huitong rtx code                 shows the RTX integration's connection code
  huitong rtx code --regenerate    replaces it (the connected adapter is disconnected)

Both act on the appliance (--data DIR, --config FILE as for every admin command):
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
    parsed = parseArgs({ args, options: { regenerate: { type: 'boolean' }, config: { type: 'string' }, data: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    err(`huitong: ${(e as Error).message}\n\n${RTX_USAGE}`);
    return EXIT_CODES.USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out(RTX_USAGE);
    return EXIT_CODES.OK;
  }
  if (positionals.length !== 1 || positionals[0] !== 'code') {
    err(`huitong: unknown command: rtx ${positionals.join(' ')}\n\n${RTX_USAGE}`);
    return EXIT_CODES.USAGE;
  }
  const view = (await ctx.control(values.regenerate ? 'rtx.code.regenerate' : 'rtx.code', {})) as { code: string; createdAt: number };
  out(`${view.code}\n`);
  err(`${values.regenerate ? 'new connection code' : 'connection code'}, generated ${new Date(view.createdAt).toISOString()}; enter it in the RTX adapter\n`);
  return EXIT_CODES.OK;
}
