/**
 * Runs a Kafka consumer group over FinFlow CloudEvents. Delivery is at least once: a handler must be idempotent
 * (record the event id in the same transaction as its effect; see processed_events).
 *
 * Nothing read is trusted. The envelope is checked against its schema (a CloudEvent 1.0 with a uuid id and tenant,
 * an ISO time), then the handler checks the data (throwing PoisonMessage when it is wrong: a missing field, an id
 * that is no id, a tenant in the data that is not the envelope's). A message that can never succeed (not JSON, a
 * bad envelope, a PoisonMessage, or data the database refuses: SQLSTATE classes 22 and 23) goes to the dead-letter
 * topic with the reason and where it came from, and the group moves past it: one bad record never stalls a
 * partition. Anything else (the database or Mongo down) is thrown, and kafkajs retries the message until it passes.
 */
import { Partitioners, type Consumer, type IHeaders, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import { z } from 'zod';
import type { Logger } from '../logger';
import type { CloudEvent } from './cloudevent';
import { DEAD_LETTER_TOPIC, type TopicName } from './topics';

export interface ConsumerOptions {
  kafka: Kafka;
  log: Logger;
  groupId: string;
  topic: TopicName;
  topicPrefix?: string;
  handle(event: CloudEvent): Promise<void>;
}

/** Thrown by a handler for a message that will never be processed, whatever the retries: it is dead-lettered. */
export class PoisonMessage extends Error {
  override readonly name = 'PoisonMessage';
}

/** The envelope FinFlow writes (platform/events/cloudevent.ts); the data is the handler's to check. */
const envelope = z.object({
  specversion: z.literal('1.0'),
  id: z.guid(),
  source: z.string().min(1).max(200),
  type: z.string().regex(/^[a-z][a-z0-9_.]{0,99}$/),
  subject: z.string().max(300).optional(),
  time: z.iso.datetime({ offset: true }).refine((t) => !Number.isNaN(Date.parse(t)), 'not a real time'),
  tenantid: z.guid(),
  data: z.unknown(),
});

/** "path: message; ..." for each zod issue, under `at` (a reason never carries the values themselves). */
export function issuesOf(error: z.ZodError, at = ''): string {
  return error.issues.map((i) => `${[at, ...i.path.map(String)].filter(Boolean).join('.') || '(message)'}: ${i.message}`).join('; ');
}

/** The handler's data, checked with `schema`: a PoisonMessage naming each wrong field when it does not fit. */
export function parseData<T extends z.ZodType>(event: CloudEvent, schema: T): z.infer<T> {
  const parsed = schema.safeParse(event.data);
  if (!parsed.success) throw new PoisonMessage(`${event.type}: ${issuesOf(parsed.error, 'data')}`);
  return parsed.data;
}

function parseEnvelope(value: Buffer | null): CloudEvent {
  let json: unknown;
  try {
    json = JSON.parse(value?.toString('utf8') ?? '');
  } catch {
    // Not the parser's message: it quotes the input.
    throw new PoisonMessage('not JSON');
  }
  const parsed = envelope.safeParse(json);
  if (!parsed.success) throw new PoisonMessage(`not a FinFlow CloudEvent: ${issuesOf(parsed.error)}`);
  return parsed.data as CloudEvent;
}

/**
 * Why a message can never be processed (`logged`: the same without anything the message said), or undefined for
 * a failure worth retrying.
 */
function poisonReason(err: unknown): { reason: string; logged: string } | undefined {
  if (err instanceof PoisonMessage) return { reason: err.message, logged: err.message.slice(0, 300) };
  const code = (err as { code?: unknown }).code;
  // Data exceptions and integrity violations: the same message fails the same way every time. The database's
  // message may quote the value it refused: it goes with the message to the dead-letter topic, not to the log.
  if (typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code)) {
    return { reason: `the database refused it (${code}): ${(err as Error).message}`, logged: `the database refused it (${code})` };
  }
  return undefined;
}

export async function startConsumer(opts: ConsumerOptions): Promise<Consumer> {
  const prefix = opts.topicPrefix ?? '';
  const deadLetters: Producer = opts.kafka.producer({ idempotent: true, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = opts.kafka.consumer({ groupId: opts.groupId });
  await deadLetters.connect();
  await consumer.connect();
  // The dead-letter producer lives as long as the consumer: disconnecting the consumer disconnects both.
  const disconnectConsumer = consumer.disconnect.bind(consumer);
  consumer.disconnect = async () => {
    try {
      await disconnectConsumer();
    } finally {
      await deadLetters.disconnect();
    }
  };
  await consumer.subscribe({ topic: prefix + opts.topic, fromBeginning: true });

  async function deadLetter(topic: string, partition: number, message: KafkaMessage, { reason, logged }: { reason: string; logged: string }) {
    const headers: IHeaders = {
      ...message.headers,
      reason: reason.slice(0, 1000),
      'original-topic': topic,
      'original-partition': String(partition),
      'original-offset': message.offset,
      'consumer-group': opts.groupId,
    };
    // Published before the offset is committed: should this fail, the message is retried, never lost.
    await deadLetters.send({ topic: prefix + DEAD_LETTER_TOPIC, messages: [{ key: message.key, value: message.value, headers }] });
    opts.log.error({ groupId: opts.groupId, topic, partition, offset: message.offset, reason: logged }, 'message dead-lettered');
  }

  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      try {
        await opts.handle(parseEnvelope(message.value));
      } catch (err) {
        const poison = poisonReason(err);
        // A throw leaves the offset uncommitted: kafkajs retries the message.
        if (poison === undefined) throw err;
        await deadLetter(topic, partition, message, poison);
      }
    },
  });
  return consumer;
}
