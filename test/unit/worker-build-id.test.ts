/** The build a worker names (WORKER_BUILD_ID, or the version and commit) and the Worker Deployment it belongs to. */
import { generateLocalSecrets } from '../../deploy/local/lib/secrets';
import { ConfigError, loadConfig } from '../../platform/config';
import { workerBuildId, workerDeployment } from '../../workers/create-workers';

const env = { ...generateLocalSecrets() };
const pkg = require('../../package.json') as { version: string };

describe('worker build ids', () => {
  it('default to the package version and the commit of the checkout', () => {
    expect(workerBuildId({})).toMatch(new RegExp(`^${pkg.version.replaceAll('.', '\\.')}\\+([0-9a-f]{12}|unknown)$`));
    expect(workerBuildId({ WORKER_BUILD_ID: 'v1.2.3' })).toBe('v1.2.3');
  });

  it('name one deployment per task queue, versioned only when WORKER_VERSIONING is on', () => {
    const cfg = loadConfig({ ...env, WORKER_BUILD_ID: 'v1.2.3', TEMPORAL_TASK_QUEUE_PREFIX: 'dev.me-' });
    expect(workerDeployment(cfg, 'payments')).toEqual({ version: { deploymentName: 'finflow-dev-me-payments', buildId: 'v1.2.3' }, useWorkerVersioning: false });
    expect(workerDeployment({ ...cfg, WORKER_VERSIONING: true }, 'credit')).toEqual({
      version: { deploymentName: 'finflow-dev-me-credit', buildId: 'v1.2.3' },
      useWorkerVersioning: true,
      defaultVersioningBehavior: 'AUTO_UPGRADE',
    });
  });

  it('refuse WORKER_VERSIONING without an explicit WORKER_BUILD_ID, and a build id with other characters', () => {
    const problems = (e: NodeJS.ProcessEnv) => {
      try {
        loadConfig({ ...env, ...e });
        return [];
      } catch (err) {
        return (err as ConfigError).problems.map((p) => p.variable);
      }
    };
    expect(problems({ WORKER_VERSIONING: 'true' })).toEqual(['WORKER_BUILD_ID']);
    expect(problems({ WORKER_VERSIONING: 'true', WORKER_BUILD_ID: 'v1.2.3+abc' })).toEqual([]);
    expect(problems({ WORKER_BUILD_ID: 'v1 2' })).toEqual(['WORKER_BUILD_ID']);
  });
});
