import type { ErrorCode } from '../errors/registry.js';
import type { Conversation, DeviceCommand, MessageId, MessageView, PushFrame, ServerFrame, UserId } from '../protocol/client-v1.js';

/** What services announce; edges subscribe and turn these into frames. */
export type BusEvent =
  /** `skipDeviceKey`: the device that sent it, which learns its seq from the ack instead. */
  | { type: 'message'; userId: UserId; message: MessageView; skipDeviceKey?: string }
  | { type: 'receipt'; userId: UserId; conv: Conversation; reader: UserId; upTo: MessageId }
  | { type: 'user.revoked'; userId: UserId; code: ErrorCode }
  | { type: 'device.command'; userId: UserId; deviceKey: string; command: DeviceCommand }
  | { type: 'dir.changed'; version: number }
  /** An app was made, changed or deleted (apps service): caches of apps refresh. */
  | { type: 'apps.changed' }
  /** The workbench or a portal template changed (docs/admin-api-portal.md): clients are told `workbench.changed`. */
  | { type: 'portal.changed' }
  /** An app's badge count, pop-up window or event for one user's online devices (docs/protocol/client-v1.md). */
  | { type: 'app.push'; userId: UserId; push: PushFrame<ServerFrame.AppNotice | ServerFrame.PopWindow | ServerFrame.AppEvent> };

/**
 * Delivery fan-out. publish() never throws and never blocks on a slow
 * subscriber: subscribers must queue work themselves. The in-process bus calls
 * subscribers synchronously; a Redis-backed bus (multi-node) will deliver the
 * same events to every gateway.
 */
export interface Bus {
  publish(event: BusEvent): void;
  subscribe(handler: (event: BusEvent) => void): () => void;
}

export class InProcessBus implements Bus {
  private readonly handlers = new Set<(event: BusEvent) => void>();

  publish(event: BusEvent): void {
    for (const h of this.handlers) {
      try {
        h(event);
      } catch (e) {
        // a subscriber's failure must not stop delivery to others
        process.emitWarning(`bus subscriber failed: ${(e as Error).message}`);
      }
    }
  }

  subscribe(handler: (event: BusEvent) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }
}
