/** Licence page (import, renewal request): keys start with 'licence.' unless shared elsewhere. */
export const zh = {
};

export const en: Record<keyof typeof zh, string> = {
};
