/** The statuses a reading can have, in order: the message schema, the store's counts and the API's answers list these. */
export const STATUSES = [0, 1, 2, 3, 4, 5, 6] as const;
export type Status = (typeof STATUSES)[number];
