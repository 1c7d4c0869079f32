/** Authorised and blocked lists page: keys start with 'access.' unless shared elsewhere. */
export const zh = {
};

export const en: Record<keyof typeof zh, string> = {
};
