import type { RenewalRequestInput } from './request.js';
import type { LicenceService } from './service.js';

type Args = Record<string, unknown>;
export type LicenceControlCommand = (licence: LicenceService, args: Args) => Promise<unknown>;

/**
 * The licence's admin commands, for the admin socket and the in-process CLI
 * (registered with the other control commands). Arguments arrive as JSON and
 * are checked by the service.
 */
export const LICENCE_CONTROL_COMMANDS: Record<string, LicenceControlCommand> = {
  /** → LicenceStatus */
  'licence.status': async (licence) => licence.status(),

  /** { text: the licence file } → ImportResult */
  'licence.import': async (licence, a) => licence.importLicence(a.text),

  /** → every imported licence, newest first */
  'licence.history': async (licence) => licence.history(),

  /** { kind, seats?, expiresAt?, company?, contact: {name, phone?, email?}, note? } → LicenceRequest */
  'licence.request': async (licence, a) => licence.renewalRequest(a as unknown as RenewalRequestInput),
};
