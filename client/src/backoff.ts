/**
 * Delay before reconnect attempt number `attempt` (0 for the first): doubling
 * from minDelayMs up to maxDelayMs, with the upper half randomised ("equal
 * jitter") so that many clients dropped at once do not return in step.
 */
export function backoffDelayMs(attempt: number, minDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.max(minDelayMs, Math.round(ceiling / 2 + (random() * ceiling) / 2));
}
