/**
 * Where the local stack (deploy/local) puts its servers. The config defaults point here, so a fresh clone
 * talks to the stack with no configuration at all. Versions are pinned: bump them here and in README.md.
 */
import os from 'node:os';
import path from 'node:path';

export const LOCAL_STACK_VERSIONS = {
  temporalCli: 'v1.5.1',
  temporalTestServer: '1.32.1',
  kafka: '4.1.1',
  ferretdb: 'v1.24.2',
  stripeMock: 'v0.203.0',
} as const;

export const LOCAL_STACK_PORTS = {
  temporal: 7233,
  temporalUi: 8233,
  temporalHttp: 7243,
  temporalMetrics: 7244,
  postgres: 54329,
  redis: 63790,
  kafka: 19092,
  kafkaController: 19093,
  mongodb: 27017,
  ferretdbDebug: 27018,
  stripeMock: 12111,
  stripeMockHttps: 12112,
} as const;

/** Builds and downloads, shared by every clone on the machine (a second clone reuses them). */
export function localStackCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FINFLOW_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'finflow');
}

export function temporalTestServerPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(localStackCacheDir(env), 'temporal-test-server', LOCAL_STACK_VERSIONS.temporalTestServer, 'temporal-test-server');
}

export function temporalCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(localStackCacheDir(env), 'temporal', LOCAL_STACK_VERSIONS.temporalCli, 'temporal');
}

/** Database roles the stack creates; migrations grant to them by these names. */
export const LOCAL_DB = {
  database: 'finflow',
  owner: { user: 'finflow', password: 'finflow' },
  app: { user: 'finflow_app', password: 'finflow_app' },
  relay: { user: 'finflow_relay', password: 'finflow_relay' },
} as const;
