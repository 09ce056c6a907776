import { logFile, type StackContext } from './component';
import { run, StackError, type Say } from './process';

let updated = false;
// dpkg takes one lock: components installing at the same time queue here.
let queue: Promise<unknown> = Promise.resolve();

/** Installs Debian packages; needs root (as on these machines), else says which packages to install. */
export function aptInstall(ctx: StackContext, component: string, packages: string[], say: Say): Promise<void> {
  const next = queue.then(() => install(ctx, component, packages, say));
  queue = next.catch(() => undefined);
  return next;
}

async function install(ctx: StackContext, component: string, packages: string[], say: Say) {
  if (process.getuid?.() !== 0) {
    throw new StackError(component, 'install', `missing; install the Debian package(s) ${packages.join(' ')} (needs root)`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const log = logFile(ctx, `${component}-install`);
  if (!updated) {
    say('apt-get update');
    await run(component, 'apt-get update', 'apt-get', ['update', '-qq'], { env, logFile: log });
    updated = true;
  }
  say(`apt-get install ${packages.join(' ')}`);
  await run(component, 'apt-get install', 'apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
    env,
    logFile: log,
    progress: { say, label: 'apt-get install' },
  });
}
