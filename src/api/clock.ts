/**
 * Milliseconds on a monotonic clock, for deadlines and intervals: unlike `Date.now()`, a wall clock
 * stepped by NTP or by hand moves neither. Only differences between two readings mean anything.
 */
export type Clock = () => number;

export const monotonic: Clock = () => performance.now();
