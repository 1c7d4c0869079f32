import { lazy } from 'react';

/**
 * The licence area. The summary is shared with the setup wizard (loaded with
 * the app); the page itself (import, history, request form) loads on demand.
 */
export { LicenceState, LicenceSummary } from './licence/Summary';

const LicencePage = lazy(() => import('./licence/LicencePage'));
export default LicencePage;
