import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERRORS, EXIT_CODES } from '../../gateway/src/errors/registry.js';

const DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/errors.md');
const doc = readFileSync(DOC, 'utf8');
const lines = doc.split(/\r?\n/);

/** Lines where a code counts as documented: table rows and headings. */
const documentingLines = lines.filter((l) => l.trimStart().startsWith('|') || l.trimStart().startsWith('#'));

function mentions(code: string): boolean {
  return documentingLines.some((l) => l.includes(`\`${code}\``));
}

/** The cells of the table row whose first cell is `code`, or null. */
function row(code: string): string[] | null {
  for (const l of lines) {
    const cells = l.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());
    if (cells[0] === `\`${code}\``) return cells;
  }
  return null;
}

t.test('docs/errors.md documents every error code of the registry', async (t) => {
  const missing = Object.keys(ERRORS).filter((c) => !mentions(c));
  t.same(missing, [], `codes missing from docs/errors.md (add a table row with the code in backticks): ${missing.join(', ')}`);
});

t.test('docs/errors.md documents every process exit code', async (t) => {
  const missing = Object.keys(EXIT_CODES).filter((c) => !mentions(c));
  t.same(missing, [], `exit codes missing from docs/errors.md: ${missing.join(', ')}`);
});

t.test('the HTTP status and WS close code in the doc match the registry', async (t) => {
  const wrong: string[] = [];
  for (const [code, spec] of Object.entries(ERRORS)) {
    const cells = row(code);
    if (!cells) continue; // reported by the test above
    const close = spec.close === null ? '—' : String(spec.close);
    if (cells[1] !== String(spec.http) || cells[2] !== close) {
      wrong.push(`${code}: doc says HTTP ${cells[1] ?? '?'} / close ${cells[2] ?? '?'}, registry says ${spec.http} / ${close}`);
    }
  }
  t.same(wrong, [], wrong.join('; '));
});

t.test('the exit code numbers in the doc match the registry', async (t) => {
  const wrong: string[] = [];
  for (const [name, value] of Object.entries(EXIT_CODES)) {
    const cells = row(name);
    if (!cells) continue;
    if (cells[1] !== String(value)) wrong.push(`${name}: doc says ${cells[1] ?? '?'}, registry says ${value}`);
  }
  t.same(wrong, [], wrong.join('; '));
});
