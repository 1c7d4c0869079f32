import { buildServices, type Services } from '../../gateway/src/services.js';
import { createLogger } from '../../gateway/src/log.js';
import { tempDir, testConfig } from './gateway.js';

/** Domain services on a fresh SQLite file, closed at teardown. */
export function makeServices(t: { teardown(fn: () => unknown): void }): Services & { dataDir: string } {
  const dataDir = tempDir(t);
  const s = buildServices(testConfig(dataDir), createLogger('silent'));
  t.teardown(() => s.close());
  return Object.assign(s, { dataDir });
}
