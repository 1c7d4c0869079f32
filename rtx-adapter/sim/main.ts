import { parseArgs } from 'node:util';
import { startRtxSimulator } from './simulator.js';

/**
 * CLI: `node --import tsx rtx-adapter/sim/main.ts [--sdk-port 8012] [--control-port 8090]
 * [--users 200 --departments 20 --groups 10 --seed 1] [--imwatch-dir DIR --imwatch-delay-ms 500]
 * [--allow-ip 10.0.0.5 ...]`. Prints one JSON line with the ports, then runs until SIGINT/SIGTERM.
 */

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    'sdk-port': { type: 'string', default: '0' },
    'control-port': { type: 'string', default: '0' },
    users: { type: 'string' },
    departments: { type: 'string' },
    groups: { type: 'string' },
    seed: { type: 'string' },
    'imwatch-dir': { type: 'string' },
    'imwatch-delay-ms': { type: 'string' },
    'allow-ip': { type: 'string', multiple: true },
  },
});

const num = (v: string | undefined, def: number) => (v === undefined ? def : Number(v));
const sim = await startRtxSimulator({
  host: values.host,
  sdkPort: num(values['sdk-port'], 0),
  controlPort: num(values['control-port'], 0),
  org: { users: num(values.users, 20), departments: num(values.departments, 5), groups: num(values.groups, 3), seed: num(values.seed, 1) },
  ...(values['imwatch-dir'] ? { imwatchDir: values['imwatch-dir'], imwatchDelayMs: num(values['imwatch-delay-ms'], 0) } : {}),
  ...(values['allow-ip'] ? { allowIps: ['127.0.0.1', '::1', ...values['allow-ip']] } : {}),
});
console.log(JSON.stringify({ event: 'rtx-simulator-ready', sdk_url: sim.sdkUrl, control_url: sim.controlUrl, sdk_port: sim.sdkPort, control_port: sim.controlPort }));

const stop = () => {
  void sim.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
