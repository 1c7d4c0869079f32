import { createHash, randomBytes } from 'node:crypto';
import type { Bus } from '../bus/bus.js';
import type { DeviceRecord, DeviceRepo, CommandRecord } from '../devices/repo.js';
import type { DirectoryService } from '../directory/service.js';
import type { UserRecord } from '../directory/types.js';
import { GatewayError } from '../errors/gateway-error.js';
import { CLIENT_TYPES, type DeviceCommand, type DeviceInfo, type UserId } from '../protocol/client-v1.js';
import type { SettingsStore } from '../settings/settings.js';
import { hasDirectoryPassword, type DirectoryPasswords } from './directory-password.js';
import { hashPassword, verifyPassword } from './password.js';
import type { ThirdPartyPasswords } from './third-party-password.js';
import { LockoutPolicy, WindowLimiter } from './rate-limit.js';

/** Decides whether another user may be authorised (licence seats). The licence module implements it. */
export interface SeatGate {
  /** Resolves true when one more authorised user fits the licence. Must not throw. */
  seatAvailable(): Promise<boolean>;
  /**
   * Runs `authorise` when `extra` more authorised users fit, with no other
   * such call in between (so two first logins cannot both take the last seat);
   * rejects without running it otherwise.
   */
  withSeats<T>(extra: number, authorise: () => Promise<T>): Promise<T>;
}
export const UNLIMITED_SEATS: SeatGate = { seatAvailable: async () => true, withSeats: (_extra, authorise) => authorise() };

export interface AuthPolicy {
  maxFailedLogins: number;
  lockoutSeconds: number;
  loginsPerMinutePerAddress: number;
  tokenTtlDays: number;
}

export interface Authenticated {
  user: UserRecord;
  device: DeviceRecord;
  token: string;
}

const DEVICE_KEY_RE = /^[A-Za-z0-9._-]{1,64}$/;
const DIRECTORY_DOWN = 'the company directory could not be reached to check the password; try again shortly';
const THIRD_PARTY_DOWN = 'the login server could not be reached to check the password; try again shortly';
export const hashToken = (token: string) => createHash('sha256').update(token).digest('base64url');

/**
 * Login, resume, logout and device commands. Passwords are scrypt-hashed;
 * tokens are 256-bit random values stored only as SHA-256 hashes, bound to one
 * device. Every attempt goes to the login log with its outcome.
 */
export class AuthService {
  private readonly perAddress: WindowLimiter;
  private readonly perAccount: WindowLimiter;
  private readonly lockout: LockoutPolicy;
  private dummyHash: Promise<string> | null = null;

  constructor(
    private readonly directory: DirectoryService,
    private readonly devices: DeviceRepo,
    private readonly settings: SettingsStore,
    private readonly bus: Bus,
    private readonly policy: AuthPolicy,
    private readonly seats: SeatGate = UNLIMITED_SEATS,
    /** Checks the passwords of directory-owned users (origin `ldap:<id>`); without it they cannot log in. */
    private readonly directoryPasswords: DirectoryPasswords | null = null,
    /** Checks the passwords of third-party users (open API authType 2) by asking an app; without it they cannot log in. */
    private readonly thirdPartyPasswords: ThirdPartyPasswords | null = null,
  ) {
    this.perAddress = new WindowLimiter(policy.loginsPerMinutePerAddress, 60_000);
    this.perAccount = new WindowLimiter(Math.max(policy.maxFailedLogins * 4, 20), 60_000);
    this.lockout = new LockoutPolicy(policy.maxFailedLogins, policy.lockoutSeconds * 1000);
  }

  private async refuse(account: string, user: UserRecord | null, device: DeviceInfo | null, address: string | null, code: GatewayError['code'], message?: string, retryAfterMs?: number): Promise<never> {
    await this.devices.logLogin({ account, userId: user?.id ?? null, deviceKey: device?.id ?? null, client: device?.type ?? null, address, ok: false, reason: code });
    throw new GatewayError(code, message, retryAfterMs !== undefined ? { retryAfterMs } : undefined);
  }

  /** Refuses users who may not log in, with distinct codes; authorises on first login when the switch is on. */
  private async admit(user: UserRecord): Promise<UserRecord> {
    if (user.blocked) throw new GatewayError('GW_USER_BLOCKED');
    if (user.status !== 'active') throw new GatewayError('GW_USER_DISABLED');
    if (!user.authorised) {
      // auto-authorise applies at a first login only, never after an administrator took the right away
      if (!user.authDecided && this.settings.get().autoAuthorise) {
        try {
          return await this.seats.withSeats(1, () => this.directory.setAuthorised(user.id, true));
        } catch (e) {
          // no free seat (or the licence expired): to the user this is simply "not authorised"
          throw new GatewayError('GW_USER_UNAUTHORISED', `not authorised (${(e as Error).message})`);
        }
      }
      throw new GatewayError('GW_USER_UNAUTHORISED');
    }
    return user;
  }

  async login(account: unknown, password: unknown, device: DeviceInfo, address: string | null): Promise<Authenticated> {
    if (typeof account !== 'string' || account.length === 0 || account.length > 128) throw new GatewayError('GW_BAD_REQUEST', 'account is required');
    if (typeof password !== 'string' || password.length === 0 || password.length > 1024) throw new GatewayError('GW_BAD_REQUEST', 'password is required');
    this.checkDevice(device);
    const addrWait = address ? this.perAddress.hit(address) : 0;
    if (addrWait > 0) return this.refuse(account, null, device, address, 'GW_RATE_LIMITED', 'too many login attempts from this address', addrWait);
    const acctWait = this.perAccount.hit(account.toLowerCase());
    if (acctWait > 0) return this.refuse(account, null, device, address, 'GW_RATE_LIMITED', 'too many login attempts for this account', acctWait);
    const locked = this.lockout.lockedFor(account);
    if (locked > 0) return this.refuse(account, null, device, address, 'GW_ACCOUNT_LOCKED', `too many failed logins; try again in ${Math.ceil(locked / 60000)} minute(s)`, locked);

    const user = await this.directory.getUserByAccount(account);
    const ok = await this.passwordOk(user, password);
    if (ok === 'unavailable') return this.refuse(account, user, device, address, 'GW_DIRECTORY_UNAVAILABLE', this.downMessage(user));
    if (!user || !ok) {
      this.lockout.fail(account);
      return this.refuse(account, user, device, address, 'GW_AUTH_FAILED');
    }
    let admitted: UserRecord;
    try {
      admitted = await this.admit(user);
    } catch (e) {
      if (e instanceof GatewayError) return this.refuse(account, user, device, address, e.code);
      throw e;
    }
    this.lockout.succeed(account);
    const dev = await this.devices.upsertDevice(user.id, device.id, device.type, (device.name ?? '').slice(0, 64), device.pushToken ?? null, address);
    const token = randomBytes(32).toString('base64url');
    await this.devices.issueToken(dev.id, hashToken(token), Date.now() + this.policy.tokenTtlDays * 86_400_000);
    await this.devices.logLogin({ account, userId: user.id, deviceKey: device.id, client: device.type, address, ok: true, reason: null });
    return { user: admitted, device: dev, token };
  }

  /**
   * Checks an account's password without opening a session (the RTX-compatible Login.php and
   * SendIM.cgi). Counts against the same per-address and per-account limits and lockout as
   * logins, and goes to the login log (client `rtx-sdk`); the password is never logged.
   * Resolves the user when the password is right and the user may log in; rejects with
   * GW_RATE_LIMITED, GW_ACCOUNT_LOCKED, GW_AUTH_FAILED or the admission codes otherwise.
   */
  async checkPassword(account: string, password: string, address: string | null): Promise<UserRecord> {
    const fail = async (code: GatewayError['code'], user: UserRecord | null, message?: string, retryAfterMs?: number): Promise<never> => {
      await this.devices.logLogin({ account: account.slice(0, 128), userId: user?.id ?? null, deviceKey: null, client: 'rtx-sdk', address, ok: false, reason: code });
      throw new GatewayError(code, message, retryAfterMs !== undefined ? { retryAfterMs } : undefined);
    };
    if (account.length === 0 || account.length > 128 || password.length > 1024) return fail('GW_AUTH_FAILED', null);
    const addrWait = address ? this.perAddress.hit(address) : 0;
    if (addrWait > 0) return fail('GW_RATE_LIMITED', null, 'too many login attempts from this address', addrWait);
    const acctWait = this.perAccount.hit(account.toLowerCase());
    if (acctWait > 0) return fail('GW_RATE_LIMITED', null, 'too many login attempts for this account', acctWait);
    const locked = this.lockout.lockedFor(account);
    if (locked > 0) return fail('GW_ACCOUNT_LOCKED', null, `too many failed logins; try again in ${Math.ceil(locked / 60000)} minute(s)`, locked);
    const user = await this.directory.getUserByAccount(account);
    const ok = await this.passwordOk(user, password);
    if (ok === 'unavailable') return fail('GW_DIRECTORY_UNAVAILABLE', user, this.downMessage(user));
    if (!user || !ok) {
      this.lockout.fail(account);
      return fail('GW_AUTH_FAILED', user);
    }
    if (user.blocked) return fail('GW_USER_BLOCKED', user);
    if (user.status !== 'active') return fail('GW_USER_DISABLED', user);
    if (!user.authorised) return fail('GW_USER_UNAUTHORISED', user);
    this.lockout.succeed(account);
    await this.devices.logLogin({ account: account.slice(0, 128), userId: user.id, deviceKey: null, client: 'rtx-sdk', address, ok: true, reason: null });
    return user;
  }

  /**
   * The password check for both login paths. Directory-owned users (origin `ldap:`) are checked
   * by their directory only — never against a local hash; an empty password is refused without
   * asking it. Third-party users (open API authType 2) likewise by their app's `auth` callback.
   * 'unavailable': the directory or app could not be asked (an outage, not a wrong password,
   * so it does not count towards the lockout).
   */
  private async passwordOk(user: UserRecord | null, password: string): Promise<boolean | 'unavailable'> {
    if (user && hasDirectoryPassword(user)) {
      if (!password || !this.directoryPasswords) return false;
      try {
        return await this.directoryPasswords.verify(user, password);
      } catch {
        return 'unavailable';
      }
    }
    // third-party users (authType 2) are checked by their app only, never against a local hash
    if (user && this.thirdPartyPasswords?.handles(user)) {
      if (!password) return false;
      try {
        return await this.thirdPartyPasswords.verify(user, password);
      } catch {
        return 'unavailable';
      }
    }
    // verify against a dummy hash when the account is unknown, so timing does not reveal which accounts exist
    return user?.passwordHash && password ? verifyPassword(password, user.passwordHash) : (await verifyPassword(password || 'x', await this.dummy()), false);
  }

  private downMessage(user: UserRecord | null): string {
    return user && !hasDirectoryPassword(user) && this.thirdPartyPasswords?.handles(user) ? THIRD_PARTY_DOWN : DIRECTORY_DOWN;
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
    return this.dummyHash;
  }

  private checkDevice(device: unknown): asserts device is DeviceInfo {
    const d = device as Partial<DeviceInfo> | null;
    if (!d || typeof d !== 'object') throw new GatewayError('GW_BAD_REQUEST', 'device is required');
    if (typeof d.id !== 'string' || !DEVICE_KEY_RE.test(d.id)) throw new GatewayError('GW_BAD_REQUEST', 'device.id must be 1–64 characters of letters, digits, . _ -');
    if (!CLIENT_TYPES.includes(d.type as never)) throw new GatewayError('GW_BAD_REQUEST', `device.type must be one of ${CLIENT_TYPES.join(', ')}`);
    if (d.name !== undefined && typeof d.name !== 'string') throw new GatewayError('GW_BAD_REQUEST', 'device.name must be a string');
    if (d.pushToken !== undefined && (typeof d.pushToken !== 'string' || d.pushToken.length > 512)) throw new GatewayError('GW_BAD_REQUEST', 'device.pushToken must be a string of at most 512 characters');
  }

  /** Resumes with a device token: fast (no password hashing), same admission checks as login. */
  async resume(token: unknown, address: string | null): Promise<{ user: UserRecord; device: DeviceRecord }> {
    if (typeof token !== 'string' || token.length < 16 || token.length > 128) throw new GatewayError('GW_TOKEN_INVALID');
    const hash = hashToken(token);
    const rec = await this.devices.findToken(hash);
    if (!rec || rec.revokedAt !== null || rec.expiresAt < Date.now()) throw new GatewayError('GW_TOKEN_INVALID');
    const user = await this.directory.getUser(rec.userId);
    const device = await this.devices.getDevice(rec.deviceId);
    if (!user || !device) throw new GatewayError('GW_TOKEN_INVALID');
    const admitted = await this.admit(user);
    const now = Date.now();
    // last-seen is kept to the minute, so a reconnect storm does not turn into a write storm
    if (device.lastSeenAt === null || now - device.lastSeenAt > 60_000 || device.lastAddress !== address) await this.devices.touchDevice(device.id, address);
    // sliding expiry: a token stays valid while it is used at least once per tokenTtlDays (moved at most daily)
    const ttl = this.policy.tokenTtlDays * 86_400_000;
    if (rec.expiresAt < now + ttl - 86_400_000) await this.devices.extendToken(hash, now + ttl);
    return { user: admitted, device };
  }

  async logout(token: string): Promise<void> {
    await this.devices.revokeToken(hashToken(token));
  }

  /** Checks a token for HTTP requests (file upload/download). Same rules as resume, without touching the device. */
  async authenticateToken(token: string): Promise<{ user: UserRecord; deviceId: number }> {
    const rec = token ? await this.devices.findToken(hashToken(token)) : null;
    if (!rec || rec.revokedAt !== null || rec.expiresAt < Date.now()) throw new GatewayError('GW_TOKEN_INVALID');
    const user = await this.directory.getUser(rec.userId);
    if (!user) throw new GatewayError('GW_TOKEN_INVALID');
    return { user: await this.admit(user), deviceId: rec.deviceId };
  }

  /**
   * Sets a user's password and signs them out everywhere: every device token
   * is revoked and live sessions close with GW_TOKEN_INVALID (log in again).
   */
  async setPassword(userId: UserId, password: string): Promise<void> {
    await this.directory.setPasswordHash(userId, await hashPassword(password));
    await this.devices.revokeUserTokens(userId);
    this.bus.publish({ type: 'user.revoked', userId, code: 'GW_TOKEN_INVALID' });
  }

  // ---- device commands (F-3.3) ----

  listDevices(userId: UserId) {
    return this.devices.listDevices(userId);
  }

  listCommands(deviceId: number) {
    return this.devices.listCommands(deviceId);
  }

  /**
   * Records a command for a device and announces it. A connected device gets it
   * at once; an offline one at its next contact (resume). The command is kept
   * until the device acknowledges it.
   */
  async issueCommand(userId: UserId, deviceId: number, kind: DeviceCommand['kind'], issuedBy: string): Promise<CommandRecord> {
    const device = await this.devices.getDevice(deviceId);
    if (!device || device.userId !== userId) throw new GatewayError('GW_NOT_FOUND', `user ${userId} has no device ${deviceId}`);
    const cmd = await this.devices.addCommand(deviceId, kind, issuedBy);
    this.bus.publish({ type: 'device.command', userId, deviceKey: device.key, command: { id: cmd.id, kind: cmd.kind, issuedAt: cmd.issuedAt } });
    return cmd;
  }

  pendingCommands(deviceId: number) {
    return this.devices.pendingCommands(deviceId);
  }

  /** A command was written to the device: after that its tokens are revoked so it must log in again. */
  async commandDelivered(cmd: { id: number; kind: DeviceCommand['kind'] }, deviceId: number): Promise<void> {
    await this.devices.markDelivered(cmd.id);
    await this.devices.revokeDeviceTokens(deviceId);
  }

  ackCommand(commandId: number, deviceId: number) {
    return this.devices.ackCommand(commandId, deviceId);
  }
}
