import { data, type Endpoint } from '../endpoint.js';

/**
 * POST /cgi/gettoken: the normal envelope whose payload is the caller's UNIX
 * time. Each call hands out a new token; earlier ones stay valid until they
 * expire. The time is not checked for freshness (docs/open-api.md "Decisions"):
 * the token travels encrypted with the app's key, so a replayed request gives
 * nothing to whoever replays it.
 */
export const TOKEN_ENDPOINTS: Endpoint[] = [
  {
    path: '/cgi/gettoken',
    methods: ['POST'],
    auth: 'envelope',
    rights: [],
    handle: async (call, deps) => data(deps.tokens.issue(call.app.rowId, call.app.tokenGen)),
  },
  {
    // the face-recognition sign-in of the spec's server: the appliance has none, so the
    // configuration is empty (docs/open-api.md "Decisions"); any app may ask
    path: '/cgi/face/conf.get',
    methods: ['GET', 'POST'],
    auth: 'token',
    rights: [],
    handle: async () => data({ key: '', secret: '' }),
  },
];
