import type { Endpoint } from './endpoint.js';
import { TOKEN_ENDPOINTS } from './endpoints/token.js';

/** Every endpoint of the open API (docs/open-api.md lists them with their status). */
export const OPEN_API_ENDPOINTS: readonly Endpoint[] = [
  ...TOKEN_ENDPOINTS,
];
