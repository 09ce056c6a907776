/**
 * Chromium from Debian's packages: not a service. The browser tests (test/integration/accounting-reports.test.ts)
 * launch it headless through playwright-core, with `command -v chromium` as the executable; Playwright's own
 * browser download is never used.
 */
import { execFileSync } from 'node:child_process';
import { aptInstall } from '../lib/apt';
import type { Component } from '../lib/component';

const NAME = 'chromium';

export function chromiumPath(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const chromium: Component = {
  name: NAME,

  async install(ctx, say) {
    if (chromiumPath()) return;
    await aptInstall(ctx, NAME, ['chromium'], say);
  },
};
