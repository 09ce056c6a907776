export { createPlatformActivities, type PlatformActivities, type PlatformActivityDeps } from './smoke.activities';
