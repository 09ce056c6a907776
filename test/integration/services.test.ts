/**
 * One real round trip per server the platform talks to, through the same client library the product uses.
 * Each test owns its data (unique keys, topics, groups, databases), so runs sharing a stack never collide.
 */
import { randomUUID } from 'node:crypto';
import { Connection } from '@temporalio/client';
import Redis from 'ioredis';
import { MongoClient, MongoServerError } from 'mongodb';
import Stripe from 'stripe';
import { ALL_SEARCH_ATTRIBUTES } from '../../temporal-config/search-attributes';
import { Partitioners } from 'kafkajs';
import { createKafka } from '../../platform/events/kafka';
import { temporalConnectionOptions } from '../../platform/temporal/client';
import { testConfig } from '../support/env';

const cfg = testConfig();

describe('Temporal dev server', () => {
  it('serves the finflow namespace with every FinFlow search attribute registered', async () => {
    const connection = await Connection.connect(temporalConnectionOptions(cfg));
    try {
      const ns = await connection.workflowService.describeNamespace({ namespace: cfg.TEMPORAL_NAMESPACE });
      expect(ns.namespaceInfo?.name).toBe('finflow');
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: cfg.TEMPORAL_NAMESPACE });
      expect(Object.keys(customAttributes ?? {})).toEqual(expect.arrayContaining(ALL_SEARCH_ATTRIBUTES.map((k) => k.name)));
    } finally {
      await connection.close();
    }
  });
});

describe('Redis', () => {
  it('stores, counts and expires keys', async () => {
    const redis = new Redis(cfg.REDIS_URL);
    const key = `test:${cfg.KAFKA_TOPIC_PREFIX}${randomUUID()}`;
    try {
      expect(await redis.set(key, 'v', 'PX', 5000)).toBe('OK');
      expect(await redis.get(key)).toBe('v');
      expect(await redis.pttl(key)).toBeGreaterThan(0);
      expect(await redis.incr(`${key}:n`)).toBe(1);
      expect(await redis.incr(`${key}:n`)).toBe(2);
    } finally {
      await redis.del(key, `${key}:n`);
      redis.disconnect();
    }
  });
});

describe('Kafka through kafkajs (the compatibility guard: kafkajs is unmaintained, Kafka 4 dropped old protocols)', () => {
  const kafka = createKafka(cfg);
  const topic = `${cfg.KAFKA_TOPIC_PREFIX}compat.${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();

  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: cfg.KAFKA_REPLICATION_FACTOR }], waitForLeaders: true });
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('creates a topic with the requested partitions', async () => {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]!.partitions).toHaveLength(3);
  });

  it('delivers an idempotent producer’s messages to a consumer group in order per key, and commits offsets', async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    const groupId = `${cfg.KAFKA_TOPIC_PREFIX}compat-group-${randomUUID()}`;
    const consumer = kafka.consumer({ groupId });
    const keys = ['a', 'b', 'c'];
    const sent = keys.flatMap((key) => Array.from({ length: 10 }, (_, i) => ({ key, value: `${key}-${i}` })));
    const received = new Map<string, string[]>();
    try {
      await producer.connect();
      await producer.send({ topic, acks: -1, messages: sent });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${[...received.values()].flat().length}/30 messages arrived`)), 30_000);
        consumer
          .run({
            eachMessage: async ({ message }) => {
              const key = message.key!.toString();
              received.set(key, [...(received.get(key) ?? []), message.value!.toString()]);
              if ([...received.values()].flat().length === sent.length) {
                clearTimeout(timer);
                setImmediate(resolve); // after kafkajs has resolved this message's offset
              }
            },
          })
          .catch(reject);
      });
      for (const key of keys) expect(received.get(key)).toEqual(Array.from({ length: 10 }, (_, i) => `${key}-${i}`));
      await consumer.stop(); // commits the offsets consumed so far
      const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
      // A partition that received nothing reports -1 (no commit).
      const committed = offsets[0]!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
      expect(committed).toBe(sent.length);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
  });
});

describe('MongoDB wire protocol (FerretDB locally) through the mongodb driver', () => {
  it('inserts, enforces a unique index, queries and aggregates', async () => {
    const client = new MongoClient(cfg.MONGO_URL);
    const db = client.db(cfg.MONGO_DATABASE);
    try {
      const events = db.collection<{ eventId: string; tenantId: string; amountMinor: number }>('compat_events');
      await events.createIndex({ eventId: 1 }, { unique: true });
      await events.insertMany([
        { eventId: 'e1', tenantId: 't1', amountMinor: 100 },
        { eventId: 'e2', tenantId: 't1', amountMinor: 250 },
        { eventId: 'e3', tenantId: 't2', amountMinor: 999 },
      ]);
      const duplicate = await events.insertOne({ eventId: 'e1', tenantId: 't1', amountMinor: 1 }).catch((e: unknown) => e);
      expect(duplicate).toBeInstanceOf(MongoServerError);
      expect((duplicate as MongoServerError).code).toBe(11000);
      expect(await events.countDocuments({ tenantId: 't1' })).toBe(2);
      const totals = await events
        .aggregate<{ _id: string; total: number }>([{ $group: { _id: '$tenantId', total: { $sum: '$amountMinor' } } }, { $sort: { _id: 1 } }])
        .toArray();
      expect(totals).toEqual([
        { _id: 't1', total: 350 },
        { _id: 't2', total: 999 },
      ]);
    } finally {
      await db.dropDatabase();
      await client.close();
    }
  });
});

describe('Stripe API (stripe-mock locally) through the stripe SDK', () => {
  const url = new URL(cfg.STRIPE_MOCK_URL);
  const stripe = new Stripe('sk_test_123', { host: url.hostname, port: Number(url.port), protocol: 'http', maxNetworkRetries: 0 });

  it('creates a customer and a manual-capture PaymentIntent', async () => {
    const customer = await stripe.customers.create({ description: 'compat check' });
    expect(customer.object).toBe('customer');
    const intent = await stripe.paymentIntents.create(
      { amount: 1099, currency: 'usd', customer: customer.id, capture_method: 'manual' },
      { idempotencyKey: randomUUID() },
    );
    expect(intent.object).toBe('payment_intent');
    expect(intent.id).toMatch(/^pi_/);
  });

  it('classifies an invalid request as StripeInvalidRequestError', async () => {
    const error = await stripe.paymentIntents.create({ currency: 'usd' } as unknown as Stripe.PaymentIntentCreateParams).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });
});
