import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Config } from '../config';

type KafkaSettings = Pick<
  Config,
  'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID' | 'KAFKA_SSL' | 'KAFKA_SASL_MECHANISM' | 'KAFKA_SASL_USERNAME' | 'KAFKA_SASL_PASSWORD'
>;

export function createKafka(cfg: KafkaSettings, overrides: Partial<KafkaConfig> = {}): Kafka {
  const sasl = cfg.KAFKA_SASL_MECHANISM
    ? ({ mechanism: cfg.KAFKA_SASL_MECHANISM, username: cfg.KAFKA_SASL_USERNAME!, password: cfg.KAFKA_SASL_PASSWORD! } as SASLOptions)
    : undefined;
  return new Kafka({
    clientId: cfg.KAFKA_CLIENT_ID,
    brokers: cfg.KAFKA_BROKERS,
    ssl: cfg.KAFKA_SSL,
    ...(sasl ? { sasl } : {}),
    logLevel: logLevel.WARN,
    connectionTimeout: 3000,
    ...overrides,
  });
}
