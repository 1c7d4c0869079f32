import type { Db } from '../storage/sqlite.js';
import type { ClientType, DeviceCommand, UserId } from '../protocol/client-v1.js';

export interface DeviceRecord {
  id: number;
  userId: UserId;
  key: string;
  type: ClientType;
  name: string;
  pushToken: string | null;
  lastSeenAt: number | null;
  lastAddress: string | null;
  createdAt: number;
}

export interface TokenRecord {
  deviceId: number;
  userId: UserId;
  expiresAt: number;
  revokedAt: number | null;
}

export interface CommandRecord extends DeviceCommand {
  deviceId: number;
  issuedBy: string;
  deliveredAt: number | null;
  ackedAt: number | null;
}

export interface LoginLogEntry {
  account: string;
  userId: UserId | null;
  deviceKey: string | null;
  client: string | null;
  address: string | null;
  ok: boolean;
  reason: string | null;
}

/** Devices, their tokens (stored hashed), their commands, and the login log. Each call is atomic. */
export interface DeviceRepo {
  upsertDevice(userId: UserId, key: string, type: ClientType, name: string, pushToken: string | null, address: string | null): Promise<DeviceRecord>;
  getDevice(id: number): Promise<DeviceRecord | null>;
  listDevices(userId: UserId): Promise<DeviceRecord[]>;
  /** Records that the device was seen; may be batched (last-seen is informational). */
  touchDevice(id: number, address: string | null): Promise<void>;
  /** Writes batched updates now. */
  flush(): Promise<void>;
  issueToken(deviceId: number, tokenHash: string, expiresAt: number): Promise<void>;
  findToken(tokenHash: string): Promise<TokenRecord | null>;
  revokeToken(tokenHash: string): Promise<void>;
  /** Moves a live token's expiry (sliding expiry on use). */
  extendToken(tokenHash: string, expiresAt: number): Promise<void>;
  revokeDeviceTokens(deviceId: number): Promise<void>;
  /** Revokes every token of every device of the user. */
  revokeUserTokens(userId: UserId): Promise<void>;
  addCommand(deviceId: number, kind: DeviceCommand['kind'], issuedBy: string): Promise<CommandRecord>;
  pendingCommands(deviceId: number): Promise<CommandRecord[]>;
  listCommands(deviceId: number): Promise<CommandRecord[]>;
  markDelivered(commandId: number): Promise<void>;
  ackCommand(commandId: number, deviceId: number): Promise<boolean>;
  logLogin(entry: LoginLogEntry): Promise<void>;
}

interface DeviceRow { id: number; user_id: number; device_key: string; type: string; name: string; push_token: string | null; last_seen_at: number | null; last_address: string | null; created_at: number }
interface CommandRow { id: number; device_id: number; kind: string; issued_by: string; issued_at: number; delivered_at: number | null; acked_at: number | null }

const deviceFrom = (r: DeviceRow): DeviceRecord => ({
  id: r.id, userId: r.user_id as UserId, key: r.device_key, type: r.type as ClientType, name: r.name, pushToken: r.push_token,
  lastSeenAt: r.last_seen_at, lastAddress: r.last_address, createdAt: r.created_at,
});
const commandFrom = (r: CommandRow): CommandRecord => ({
  id: r.id, deviceId: r.device_id, kind: r.kind as DeviceCommand['kind'], issuedBy: r.issued_by, issuedAt: r.issued_at, deliveredAt: r.delivered_at, ackedAt: r.acked_at,
});

/** Last-seen updates are written in one transaction at most this often. */
const TOUCH_FLUSH_MS = 1000;

export class SqliteDeviceRepo implements DeviceRepo {
  private readonly s;
  private readonly touches = new Map<number, { at: number; address: string | null }>();
  private touchTimer: NodeJS.Timeout | null = null;

  constructor(private readonly db: Db) {
    this.s = {
      upsert: db.prepare(`INSERT INTO devices (user_id, device_key, type, name, push_token, last_seen_at, last_address, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (user_id, device_key) DO UPDATE SET type = excluded.type, name = excluded.name,
          push_token = COALESCE(excluded.push_token, devices.push_token), last_seen_at = excluded.last_seen_at, last_address = excluded.last_address
        RETURNING *`),
      get: db.prepare('SELECT * FROM devices WHERE id = ?'),
      list: db.prepare('SELECT * FROM devices WHERE user_id = ? ORDER BY last_seen_at DESC, id'),
      touch: db.prepare('UPDATE devices SET last_seen_at = ?, last_address = COALESCE(?, last_address) WHERE id = ?'),
      issue: db.prepare('INSERT INTO device_tokens (token_hash, device_id, created_at, expires_at) VALUES (?, ?, ?, ?)'),
      find: db.prepare('SELECT t.device_id, d.user_id, t.expires_at, t.revoked_at FROM device_tokens t JOIN devices d ON d.id = t.device_id WHERE t.token_hash = ?'),
      extend: db.prepare('UPDATE device_tokens SET expires_at = ? WHERE token_hash = ? AND revoked_at IS NULL AND expires_at < ?'),
      revoke: db.prepare('UPDATE device_tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL'),
      revokeUser: db.prepare('UPDATE device_tokens SET revoked_at = ? WHERE revoked_at IS NULL AND device_id IN (SELECT id FROM devices WHERE user_id = ?)'),
      revokeAll: db.prepare('UPDATE device_tokens SET revoked_at = ? WHERE device_id = ? AND revoked_at IS NULL'),
      addCmd: db.prepare('INSERT INTO device_commands (device_id, kind, issued_by, issued_at) VALUES (?, ?, ?, ?) RETURNING *'),
      pending: db.prepare('SELECT * FROM device_commands WHERE device_id = ? AND acked_at IS NULL ORDER BY id'),
      allCmds: db.prepare('SELECT * FROM device_commands WHERE device_id = ? ORDER BY id DESC LIMIT 100'),
      delivered: db.prepare('UPDATE device_commands SET delivered_at = COALESCE(delivered_at, ?) WHERE id = ?'),
      ack: db.prepare('UPDATE device_commands SET acked_at = ?, delivered_at = COALESCE(delivered_at, ?) WHERE id = ? AND device_id = ? AND acked_at IS NULL'),
      log: db.prepare('INSERT INTO login_log (at, account, user_id, device_key, client, address, ok, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    };
  }

  async upsertDevice(userId: UserId, key: string, type: ClientType, name: string, pushToken: string | null, address: string | null): Promise<DeviceRecord> {
    const now = Date.now();
    return deviceFrom(this.s.upsert.get(userId, key, type, name, pushToken, now, address, now) as DeviceRow);
  }

  async getDevice(id: number): Promise<DeviceRecord | null> {
    const r = this.s.get.get(id) as DeviceRow | undefined;
    return r ? deviceFrom(r) : null;
  }

  async listDevices(userId: UserId): Promise<DeviceRecord[]> {
    return (this.s.list.all(userId) as DeviceRow[]).map(deviceFrom);
  }

  async touchDevice(id: number, address: string | null): Promise<void> {
    this.touches.set(id, { at: Date.now(), address });
    this.touchTimer ??= setTimeout(() => void this.flush(), TOUCH_FLUSH_MS);
    this.touchTimer.unref();
  }

  async flush(): Promise<void> {
    if (this.touchTimer) clearTimeout(this.touchTimer);
    this.touchTimer = null;
    if (this.touches.size === 0 || !this.db.open) return;
    const batch = [...this.touches];
    this.touches.clear();
    this.db.transaction(() => {
      for (const [id, t] of batch) this.s.touch.run(t.at, t.address, id);
    })();
  }

  async issueToken(deviceId: number, tokenHash: string, expiresAt: number): Promise<void> {
    this.s.issue.run(tokenHash, deviceId, Date.now(), expiresAt);
  }

  async findToken(tokenHash: string): Promise<TokenRecord | null> {
    const r = this.s.find.get(tokenHash) as { device_id: number; user_id: number; expires_at: number; revoked_at: number | null } | undefined;
    return r ? { deviceId: r.device_id, userId: r.user_id as UserId, expiresAt: r.expires_at, revokedAt: r.revoked_at } : null;
  }

  async revokeToken(tokenHash: string): Promise<void> {
    this.s.revoke.run(Date.now(), tokenHash);
  }

  async extendToken(tokenHash: string, expiresAt: number): Promise<void> {
    this.s.extend.run(expiresAt, tokenHash, expiresAt);
  }

  async revokeUserTokens(userId: UserId): Promise<void> {
    this.s.revokeUser.run(Date.now(), userId);
  }

  async revokeDeviceTokens(deviceId: number): Promise<void> {
    this.s.revokeAll.run(Date.now(), deviceId);
  }

  async addCommand(deviceId: number, kind: DeviceCommand['kind'], issuedBy: string): Promise<CommandRecord> {
    return commandFrom(this.s.addCmd.get(deviceId, kind, issuedBy, Date.now()) as CommandRow);
  }

  async pendingCommands(deviceId: number): Promise<CommandRecord[]> {
    return (this.s.pending.all(deviceId) as CommandRow[]).map(commandFrom);
  }

  async listCommands(deviceId: number): Promise<CommandRecord[]> {
    return (this.s.allCmds.all(deviceId) as CommandRow[]).map(commandFrom);
  }

  async markDelivered(commandId: number): Promise<void> {
    this.s.delivered.run(Date.now(), commandId);
  }

  async ackCommand(commandId: number, deviceId: number): Promise<boolean> {
    const now = Date.now();
    return this.s.ack.run(now, now, commandId, deviceId).changes > 0;
  }

  async logLogin(e: LoginLogEntry): Promise<void> {
    this.s.log.run(Date.now(), e.account.slice(0, 128), e.userId, e.deviceKey, e.client, e.address, e.ok ? 1 : 0, e.reason);
  }
}
