/** The largest sort order the server takes (MAX_ORDER in routes-org.ts). */
export const MAX_DEPT_ORDER = 1_000_000_000;
/** The gap left between renumbered siblings, so later moves usually change one department only. */
export const ORDER_STEP = 10;

/**
 * Where a department dropped at `index` among `siblings` (sorted as shown, the
 * dragged one left out) gets its place: one order strictly between its new
 * neighbours when there is room, or else every sibling renumbered.
 * Siblings sort by order, then name, so equal orders leave no room.
 */
export function placeAt(siblingOrders: readonly number[], index: number): { order: number } | { renumber: number[] } {
  const prev = index > 0 ? siblingOrders[index - 1] : undefined;
  const next = siblingOrders[index];
  if (prev === undefined && next === undefined) return { order: 0 };
  if (next === undefined) {
    const order = (prev as number) + ORDER_STEP;
    if (order <= MAX_DEPT_ORDER) return { order };
  } else if (prev === undefined) {
    if (next >= 1) return { order: Math.max(0, next - ORDER_STEP) };
  } else if (next - prev >= 2) {
    return { order: Math.floor((prev + next) / 2) };
  }
  // no room: the new sequence, dragged department included, numbered 0, 10, 20…
  return { renumber: Array.from({ length: siblingOrders.length + 1 }, (_v, i) => i * ORDER_STEP) };
}
