import {
  ClientFrame,
  PROTOCOL_VERSION,
  type AuthOk,
  type DeviceInfo,
  type ResultPayload,
} from '../../gateway/src/protocol/client-v1.js';
import type { Connection } from './connection.js';
import { ClientError } from './errors.js';

export interface HandshakeParams {
  clientName: string;
  /** Resume with this token when set; otherwise log in. */
  token: string | null;
  credentials: { account: string; password: string } | null;
  device: DeviceInfo;
}

export interface HandshakeResult {
  hello: ResultPayload[ClientFrame.Hello];
  auth: AuthOk;
}

/**
 * `hello`, then `resume` (with a token) or `login` (with credentials) on a fresh
 * connection. Rejects with the server's code (GW_TOKEN_INVALID, GW_AUTH_FAILED...),
 * GW_VERSION_UNSUPPORTED when the server answers with another protocol version,
 * or CLIENT_NO_CREDENTIALS when there is neither a token nor credentials.
 */
export async function performHandshake(conn: Connection, params: HandshakeParams): Promise<HandshakeResult> {
  const hello = await conn.request(ClientFrame.Hello, { v: PROTOCOL_VERSION, client: params.clientName });
  if (hello.v !== PROTOCOL_VERSION) {
    throw new ClientError('GW_VERSION_UNSUPPORTED', `The server speaks protocol version ${hello.v}; this client speaks ${PROTOCOL_VERSION}.`);
  }
  if (params.token) {
    return { hello, auth: await conn.request(ClientFrame.Resume, { token: params.token }) };
  }
  if (!params.credentials) throw new ClientError('CLIENT_NO_CREDENTIALS');
  const { account, password } = params.credentials;
  return { hello, auth: await conn.request(ClientFrame.Login, { account, password, device: params.device }) };
}
