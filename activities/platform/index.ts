export { createPlatformActivities, type PlatformActivities, type PlatformActivityDeps } from './smoke.activities';
export { refusal } from './refusal';
