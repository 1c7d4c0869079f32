/** Groups page: keys start with 'groups.' unless shared elsewhere. */
export const zh = {
};

export const en: Record<keyof typeof zh, string> = {
};
