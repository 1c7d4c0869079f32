-- Callbacks the open API asks for itself (docs/apps-callbacks.md "Full-sync
-- completion", "Third-party login").

-- A delivery's own target: org/replaceall's per-request `callback: {url,
-- token}` (wire spec §3.6). NULL: the app's configured callback. The Token is
-- sealed like the apps' callback Tokens.
ALTER TABLE app_callback_deliveries ADD COLUMN target_url TEXT;
ALTER TABLE app_callback_deliveries ADD COLUMN target_token TEXT;

-- The app that checks the password of a user with authType 2 (third-party
-- login): the app that set authType 2 (user/setauth or org/replaceall). NULL:
-- the org-sync assistant of the gateway's buin.
ALTER TABLE openapi_user_extra ADD COLUMN auth_app_row INTEGER;
