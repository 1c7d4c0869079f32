/**
 * receiver=all at scale: one broadcast from the system app to 50 000 active users through
 * MessagingService.sendAsApp (the path SendNotify.cgi takes). Prints JSON figures.
 * Run: node --import tsx bench/rtx-compat/broadcast.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { benchConfig } from '../lib/gateway.js';
import { buildServices } from '../../gateway/src/services.js';
import { createLogger } from '../../gateway/src/log.js';
const dir = mkdtempSync(path.join(tmpdir(), 'bc-'));
const s = buildServices(benchConfig(dir), createLogger('silent'));
const N = 50_000;
const ins = s.db.prepare("INSERT INTO users (account, name, pinyin, pinyin_initials, mobile, email, phone, title, gender, status, authorised, password_hash, sort_order, origin, version, created_at, updated_at) VALUES (?, ?, '', '', '', '', '', '', 'unknown', 'active', 1, NULL, 0, 'local', 1, 0, 0)");
s.db.transaction(() => { for (let i = 0; i < N; i++) ins.run(`u${i}`, `用户${i}`); })();
let t0 = performance.now();
await s.messaging.sendAsApp({ appId: 'system', cmid: 'b1', to: 'all', kind: 'rich', body: { title: 't', segments: [{ text: 'hello' }] }, origin: 'bench' });
const first = performance.now() - t0;
t0 = performance.now();
await s.messaging.sendAsApp({ appId: 'system', cmid: 'b2', to: 'all', kind: 'rich', body: { title: 't', segments: [{ text: 'hello' }] }, origin: 'bench' });
console.log(JSON.stringify({ users: N, firstBroadcastMs: Math.round(first), secondBroadcastMs: Math.round(performance.now() - t0) }));
await s.close();
rmSync(dir, { recursive: true, force: true });
