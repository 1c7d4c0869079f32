import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { UserId } from '../../gateway/src/protocol/client-v1.js';
import { startRtxSimulator } from '../../rtx-adapter/sim/simulator.js';
import { startGateway, tempDir, TEST_PASSWORD } from '../helpers/gateway.js';
import { online } from '../helpers/clients.js';
import { nextFinishedRun, waitFor } from '../helpers/rtx.js';

t.test('mode A: the gateway runs the adapter in-process; the RTX org arrives and messages reach RTX', async (t) => {
  const sim = await startRtxSimulator({ org: { users: 30, departments: 6, groups: 3, seed: 5 } });
  t.teardown(() => sim.close());
  const xml = path.join(tempDir(t), 'export.xml');
  writeFileSync(xml, sim.exportXml());
  const g = await startGateway(t, { config: { 'rtxLocal.enabled': true, 'rtxLocal.sdkUrl': sim.sdkUrl, 'rtxLocal.exportXml': xml } });
  await waitFor(() => g.gw.plugin.status().state === 'CONNECTED', 'the in-process adapter to connect', 30_000);
  t.match(g.gw.plugin.status().adapter, { name: 'in-process (mode A)' });
  const run = await nextFinishedRun(g, 0);
  t.equal(run.state, 'applied', run.error ?? '');
  t.match(run.counts, { users: { created: 30 }, depts: { created: 6 }, groups: { created: 3 } });

  // lisi (an RTX user) on a phone writes to zhangsan, who is on RTX
  const dir = g.gw.services.directory;
  const lisi = (await dir.getUserByAccount('lisi'))?.id as UserId;
  await g.gw.services.auth.setPassword(lisi, TEST_PASSWORD);
  await dir.setAuthorised(lisi, true);
  const zhangsan = (await dir.getUserByAccount('zhangsan'))?.id as UserId;
  const phone = await online(t, g, 'lisi');
  await phone.client.sendText({ kind: 'user', id: zhangsan }, '从手机发到 RTX');
  await waitFor(() => sim.state.inbox('zhangsan').ims.some((m) => m.text.includes('从手机发到 RTX')), 'the message in RTX', 30_000);
  t.match(sim.state.inbox('zhangsan').ims.find((m) => m.text.includes('从手机发到 RTX')), { sender: 'lisi' }, 'SendIM reached the RTX server as lisi');

  // a local (gateway-only) user has no RTX account to send an IM as: the RTX user gets it as a notification
  await g.addUser('mobile1');
  const mobile = await online(t, g, 'mobile1');
  await mobile.client.sendText({ kind: 'user', id: zhangsan }, '本地用户发到 RTX');
  await waitFor(() => sim.state.inbox('zhangsan').notifications.some((n) => n.text.includes('本地用户发到 RTX')), 'the notification in RTX', 30_000);
  t.match(sim.state.inbox('zhangsan').notifications.find((n) => n.text.includes('本地用户发到 RTX')), { title: /mobile1/ }, 'SendNotify reached the RTX user, naming the sender');

  // regenerating the code restarts the in-process adapter with the new one
  g.gw.services.rtxCode.regenerate();
  await waitFor(() => g.gw.plugin.status().state === 'CONNECTED' && g.gw.plugin.status().counters.links >= 2, 'the adapter to reconnect with the new code', 30_000);
});
