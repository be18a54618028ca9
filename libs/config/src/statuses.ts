/**
 * The statuses a reading can have. Defined here, the one lib both `messaging` (the message
 * schema) and `store` (the counts) may import.
 */
export const STATUSES = [0, 1, 2, 3, 4, 5, 6] as const;
export type Status = (typeof STATUSES)[number];
