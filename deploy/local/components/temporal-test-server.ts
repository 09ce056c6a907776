/**
 * Temporal's time-skipping test server (Java, from Maven Central). Not a running service: @temporalio/testing
 * starts it per test environment through this wrapper (`existing-path`), since it cannot download one here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LOCAL_STACK_VERSIONS, temporalTestServerPath } from '../../../platform/config/local-stack';
import { mavenJars, type Component } from '../lib/component';
import { StackError } from '../lib/process';

const NAME = 'temporal-test-server';

export const temporalTestServer: Component = {
  name: NAME,

  async install(ctx, say) {
    const wrapper = temporalTestServerPath({ ...process.env, FINFLOW_CACHE_DIR: ctx.cacheDir });
    const home = path.dirname(wrapper);
    await mavenJars(ctx, NAME, path.join(ctx.repoDir, 'deploy/local/maven/temporal-test-server.pom.xml'), home, say);
    if (!fs.existsSync(path.join(home, 'libs', `temporal-test-server-${LOCAL_STACK_VERSIONS.temporalTestServer}.jar`))) {
      throw new StackError(NAME, 'install', `no temporal-test-server jar in ${home}/libs`);
    }
    // Starts fast (the SDK gives it 5 s on a machine that may be busy): serial GC, the client compiler only, CDS.
    const script = `#!/bin/sh\n# Temporal time-skipping test server; usage: temporal-test-server <port>\nexec java -Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -cp "${home}/libs/*" io.temporal.testserver.TestServer "$@"\n`;
    if (!fs.existsSync(wrapper) || fs.readFileSync(wrapper, 'utf8') !== script) fs.writeFileSync(wrapper, script, { mode: 0o755 });
  },
};
