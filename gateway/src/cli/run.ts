import { main } from './main.js';

/** Process entry point of the `huitong` command. */
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`huitong: unexpected failure: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
