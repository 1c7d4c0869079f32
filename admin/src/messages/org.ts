/** Organisation and members pages: keys start with 'org.' unless shared elsewhere. */
export const zh = {
};

export const en: Record<keyof typeof zh, string> = {
};
