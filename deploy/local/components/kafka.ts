/**
 * Apache Kafka as one KRaft broker+controller, from the jars on Maven Central, run with the machine's Java.
 * FinFlow's topics are created with the seed's partition counts and retention.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { LOCAL_STACK_PORTS, LOCAL_STACK_VERSIONS } from '../../../platform/config/local-stack';
import { ensureTopics } from '../../../platform/events/topics';
import { dataDir, logFile, mavenJars, pidFile, type Component, type StackContext } from '../lib/component';
import { run, StackError, startDaemon, withTimeout } from '../lib/process';

const NAME = 'kafka';
const port = LOCAL_STACK_PORTS.kafka;
const controllerPort = LOCAL_STACK_PORTS.kafkaController;
/** Where the pinned Kafka jars are cached (tests start private brokers from the same jars). */
export const kafkaLibs = (cacheDir: string) => path.join(cacheDir, 'kafka', LOCAL_STACK_VERSIONS.kafka, 'libs');
const libs = (ctx: StackContext) => kafkaLibs(ctx.cacheDir);

function admin() {
  return new Kafka({ clientId: 'finflow-stack', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, connectionTimeout: 2000, retry: { retries: 2 } }).admin();
}

/**
 * Writes server.properties and log4j2.properties of one KRaft broker+controller listening on 127.0.0.1, with its
 * log in `dir`/log; returns the path of server.properties.
 */
export function writeKafkaConfig(dir: string, ports: { port: number; controllerPort: number }): string {
  const { port, controllerPort } = ports;
  fs.mkdirSync(dir, { recursive: true });
  const props = path.join(dir, 'server.properties');
  fs.writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      `log.dirs=${path.join(dir, 'log')}`,
      'auto.create.topics.enable=false',
      'num.partitions=1',
      // Single broker: every internal topic has one replica; fewer offsets partitions load faster on 2 cores.
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=10',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(dir, 'log4j2.properties'),
    [
      'appender.out.type=Console',
      'appender.out.name=OUT',
      'appender.out.layout.type=PatternLayout',
      'appender.out.layout.pattern=[%d] %p %m (%c)%n',
      'rootLogger.level=info',
      'rootLogger.appenderRef.out.ref=OUT',
      'logger.state.name=state.change.logger',
      'logger.state.level=warn',
      '',
    ].join('\n'),
  );
  return props;
}

/** A KRaft cluster id: 16 random bytes, URL-safe base64, as `kafka-storage random-uuid` prints. */
export const kafkaClusterId = () => Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url');

/** `java` arguments running one of Kafka's main classes with the config written by writeKafkaConfig into `dir`. */
export const kafkaJavaArgs = (libsDir: string, dir: string, main: string, args: string[], maxHeap = '768m') => [
  '-Xms256m',
  `-Xmx${maxHeap}`,
  `-Dlog4j2.configurationFile=${path.join(dir, 'log4j2.properties')}`,
  '-cp',
  `${libsDir}/*`,
  main,
  ...args,
];
const java = (ctx: StackContext, main: string, args: string[]) => kafkaJavaArgs(libs(ctx), dataDir(ctx, NAME), main, args);

export const kafka: Component = {
  name: NAME,
  port,
  endpoint: `127.0.0.1:${port}`,
  startTimeoutSeconds: 90,

  async install(ctx, say) {
    await mavenJars(ctx, NAME, path.join(ctx.repoDir, 'deploy/local/maven/kafka.pom.xml'), path.dirname(libs(ctx)), say);
  },

  async start(ctx, say) {
    const props = writeKafkaConfig(dataDir(ctx, NAME), { port, controllerPort });
    if (!fs.existsSync(path.join(dataDir(ctx, NAME), 'log', 'meta.properties'))) {
      say('formatting KRaft storage');
      await run(NAME, 'storage format', 'java', java(ctx, 'kafka.tools.StorageTool', ['format', `--cluster-id=${kafkaClusterId()}`, '--config', props]), {
        logFile: logFile(ctx, NAME),
      });
    }
    startDaemon(NAME, { cmd: 'java', args: java(ctx, 'kafka.Kafka', [props]), logFile: logFile(ctx, NAME), pidFile: pidFile(ctx, NAME) });
  },

  async health() {
    const a = admin();
    try {
      await withTimeout(5000, 'kafka connect', a.connect());
      const cluster = await withTimeout(5000, 'kafka describeCluster', a.describeCluster());
      if (cluster.brokers.length === 0) throw new StackError(NAME, 'health check', 'the cluster has no brokers');
    } finally {
      await a.disconnect().catch(() => undefined);
    }
  },

  async configure(_ctx, say) {
    const a = admin();
    try {
      await a.connect();
      const created = await ensureTopics(a);
      if (created.length) say(`created topics ${created.join(', ')}`);
    } finally {
      await a.disconnect();
    }
    // A fresh broker answers "coordinator is loading" for a while: "up" waits until an idempotent producer
    // (what the relay uses) can register, so the first real publish does not hit it.
    const client = new Kafka({ clientId: 'finflow-stack', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 300 } });
    const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
    try {
      await producer.connect();
    } finally {
      await producer.disconnect();
    }
  },
};
