/** Roles and administrators page: keys start with 'admins.' unless shared elsewhere. */
export const zh = {
};

export const en: Record<keyof typeof zh, string> = {
};
