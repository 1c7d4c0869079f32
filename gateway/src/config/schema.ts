import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * The gateway's configuration: the single source of truth. The TS type is
 * inferred from it; `loadConfig` validates a file plus HUITONG_* environment
 * overrides against it once at start and freezes the result; the sample in
 * appliance/huitong.sample.json is generated from it (npm run config:sample).
 *
 * A key marked `secret: true` may also be given as HUITONG_<KEY>_FILE naming a
 * file that holds the value; secrets are never logged.
 */
const Port = (def: number, description: string) =>
  Type.Integer({ minimum: 0, maximum: 65535, default: def, description: `${description} (0 = any free port)` });
const Host = (description: string) => Type.String({ default: '0.0.0.0', minLength: 1, description });

export const ConfigSchema = Type.Object(
  {
    dataDir: Type.String({ default: './data', minLength: 1, description: 'Directory for the database, files, certificates and the admin socket' }),
    publicHost: Type.String({
      default: '',
      description: 'Host name or address clients use to reach this server (server-info, QR code); empty = the address the request came to',
    }),
    http: Type.Object(
      {
        host: Host('Address the HTTP listener (console, open API, server-info) binds to'),
        port: Port(7080, 'HTTP port: admin console, /api, /cgi, /healthz, /metrics'),
        consoleDir: Type.String({ default: '', description: 'Directory of the built admin console (index.html, assets/); empty = admin/dist in the installation' }),
      },
      { default: {}, additionalProperties: false },
    ),
    https: Type.Object(
      {
        host: Host('Address the HTTPS/WSS listener binds to'),
        port: Port(7443, 'HTTPS + WSS port: client protocol (/ws) and files (/files)'),
        certFile: Type.String({ default: '', description: 'PEM certificate chain; empty = a self-signed certificate generated in dataDir/tls on first start' }),
        keyFile: Type.String({ default: '', description: 'PEM private key for certFile' }),
      },
      { default: {}, additionalProperties: false },
    ),
    tcp: Type.Object(
      {
        host: Host('Address the TLS TCP client listener binds to'),
        port: Port(7006, 'TLS TCP port for native clients (length-prefixed frames)'),
      },
      { default: {}, additionalProperties: false },
    ),
    plugin: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'Serve the RTX plugin channel (the adapter connects here)' }),
        host: Host('Address the RTX plugin channel listener binds to'),
        port: Port(7014, 'RTX plugin channel port (docs/protocol/plugin-v1.md)'),
        tls: Type.Boolean({ default: true, description: 'TLS with the HTTPS certificate; false is allowed only with plugin.host on loopback (test setups)' }),
      },
      { default: {}, additionalProperties: false },
    ),
    rtxSdk: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'Serve the RTX-compatible HTTP SDK (SendNotify.cgi, SendIM.cgi...) for scripts written for RTX' }),
        host: Host('Address the RTX-compatible SDK listener binds to (callers are also checked against the rtxSdkAllowIps setting)'),
        port: Port(8012, 'RTX-compatible HTTP SDK port (docs/protocol/rtx-sdk-compat.md)'),
      },
      { default: {}, additionalProperties: false },
    ),
    rtxLocal: Type.Object(
      {
        enabled: Type.Boolean({ default: false, description: 'Deployment mode A: run the RTX adapter inside the gateway, connected to its own plugin channel (the RTX server is reachable from this host)' }),
        sdkUrl: Type.String({ default: '', description: "The RTX server's HTTP SDK, e.g. http://rtx-host:8012 (sends messages, reads presence; empty = none)" }),
        exportXml: Type.String({ default: '', description: 'RTX Manager export XML file the org is read from, watched for changes (empty = none)' }),
        imwatchDir: Type.String({ default: '', description: "RTX IMWatch log folder (e.g. a share of the RTX host's folder) for capturing RTX users' messages (empty = none)" }),
      },
      { default: {}, additionalProperties: false },
    ),
    storage: Type.Object(
      {
        driver: Type.Union([Type.Literal('sqlite')], { default: 'sqlite', description: 'Storage backend (PostgreSQL comes with multi-node)' }),
        sqliteFile: Type.String({ default: '', description: 'SQLite file; empty = dataDir/huitong.db' }),
        synchronous: Type.Union([Type.Literal('FULL'), Type.Literal('NORMAL')], {
          default: 'FULL',
          description: 'FULL: every acknowledged message survives power loss; NORMAL: survives a process crash only',
        }),
        groupCommitMaxBatch: Type.Integer({ minimum: 1, maximum: 10000, default: 2000, description: 'Most messages stored in one transaction' }),
      },
      { default: {}, additionalProperties: false },
    ),
    auth: Type.Object(
      {
        maxFailedLogins: Type.Integer({ minimum: 1, default: 5, description: 'Failed logins before an account is locked' }),
        lockoutSeconds: Type.Integer({ minimum: 1, default: 900, description: 'How long a locked account stays locked' }),
        loginsPerMinutePerAddress: Type.Integer({ minimum: 1, default: 60, description: 'Login attempts allowed per client address per minute' }),
        tokenTtlDays: Type.Integer({ minimum: 1, default: 30, description: 'Days a device token stays valid without use' }),
      },
      { default: {}, additionalProperties: false },
    ),
    limits: Type.Object(
      {
        maxConnections: Type.Integer({ minimum: 1, default: 100000, description: 'Most client connections held at once' }),
        sendQueueBytes: Type.Integer({ minimum: 65536, default: 4 * 1024 * 1024, description: 'Bytes queued to one slow client before it is disconnected' }),
        framesPerSecond: Type.Integer({ minimum: 1, default: 200, description: 'Frames one connection may send per second (burst of twice this)' }),
      },
      { default: {}, additionalProperties: false },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
          { default: 'info', description: 'Log level' },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;

/** True where the schema marks the key as a secret. */
export function isSecret(schema: TSchema): boolean {
  return (schema as { secret?: boolean }).secret === true;
}
