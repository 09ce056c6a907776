/**
 * A Kafka broker of a test's own, from the stack's cached jars (deploy/local/components/kafka.ts), on free ports
 * with its data in a temporary folder: a test may stop and restart it (a real broker outage) without touching the
 * shared stack's broker, which other test files use meanwhile.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaClusterId, kafkaJavaArgs, kafkaLibs, writeKafkaConfig } from '../../deploy/local/components/kafka';
import { localStackCacheDir } from '../../platform/config/local-stack';
import { eventually } from './eventually';

export interface PrivateKafka {
  brokers: string[];
  /** Starts the broker and waits until it serves metadata and an idempotent producer can register. */
  start(): Promise<void>;
  /** Stops the broker with `signal` (SIGKILL: a crash; SIGTERM: a clean shutdown) and waits until it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the broker if it runs and deletes its data. */
  destroy(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function createPrivateKafka(): Promise<PrivateKafka> {
  const libs = kafkaLibs(localStackCacheDir());
  if (!fs.existsSync(libs)) throw new Error(`no Kafka jars at ${libs}; run \`npm run stack -- up\``);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'finflow-test-kafka-'));
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const props = writeKafkaConfig(dir, { port, controllerPort });
  const logFile = path.join(dir, 'server.log');
  await promisify(execFile)('java', kafkaJavaArgs(libs, dir, 'kafka.tools.StorageTool', ['format', `--cluster-id=${kafkaClusterId()}`, '--config', props], '384m'));
  const brokers = [`127.0.0.1:${port}`];
  let child: ChildProcess | undefined;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  async function ready(): Promise<boolean> {
    if (!running()) throw new Error(`the private Kafka broker exited while starting; last lines of ${logFile}:\n${tail(logFile)}`);
    const client = new Kafka({ clientId: 'finflow-test-private-kafka', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 2000, retry: { retries: 1 } });
    const admin = client.admin();
    const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
    try {
      await admin.connect();
      if ((await admin.describeCluster()).brokers.length === 0) return false;
      // A fresh broker answers "coordinator is loading" for a while; the relay's idempotent producer needs it.
      await producer.connect();
      return true;
    } catch {
      return false;
    } finally {
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
  }

  const broker: PrivateKafka = {
    brokers,
    async start() {
      if (running()) return;
      const out = fs.openSync(logFile, 'a');
      child = spawn('java', kafkaJavaArgs(libs, dir, 'kafka.Kafka', [props], '384m'), { stdio: ['ignore', out, out] });
      fs.closeSync(out);
      await eventually(`the private Kafka broker on ${brokers[0]}`, ready, 180_000);
    },
    async stop(signal = 'SIGKILL') {
      if (!running()) return;
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child!.kill(signal);
      await exited;
    },
    async destroy() {
      await broker.stop('SIGKILL');
      process.removeListener('exit', killOnExit);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return broker;
}
