/**
 * The outbox relay: publishes committed outbox rows to Kafka and marks them published.
 *
 * - Order: rows go out in id (commit-sequence) order, and a batch that fails stops the relay before any later row,
 *   so events of one aggregate arrive in order. The Kafka key is the row's partition key (the aggregate that
 *   orders the event: its own, or e.g. the invoice a payment pays), so those events share a partition.
 * - One active relay: a session-level advisory lock elects a leader; other replicas wait as hot standbys.
 * - Polling, not NOTIFY: a writer's commit sends no notification (PostgreSQL serialises the commits of notifying
 *   transactions on one cluster-wide lock). The leader polls again at once while batches come back full, after
 *   `minPollIntervalMs` while rows trickle in, and backs off by doubling to `pollIntervalMs` when the outbox is idle:
 *   an idle outbox costs one indexed query per `pollIntervalMs`, and that is the worst commit-to-publish delay.
 * - At least once: a crash between publishing and marking re-publishes the batch; consumers dedupe by event id.
 * - Kafka down: rows stay unpublished, the relay backs off and retries, and the backlog flows when Kafka is back.
 */
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from '../logger';
import { failpoint } from '../failpoints';
import { CLOUDEVENT_CONTENT_TYPE } from './cloudevent';

const LEADER_LOCK_KEY = 7_314_159_265; // pg advisory lock id owned by the relay

export interface OutboxRelayOptions {
  /** Connects as the relay role (BYPASSRLS; may only read the outbox and mark rows published). */
  pool: Pool;
  kafka: Kafka;
  log: Logger;
  topicPrefix?: string;
  batchSize?: number;
  /** Longest wait between two polls of an idle outbox (default 50 ms). */
  pollIntervalMs?: number;
  /** Wait after a batch that was not full, and the first wait of an idle spell (default 5 ms). */
  minPollIntervalMs?: number;
  /** How often a standby replica tries to take the lead (default 1 s). */
  standbyIntervalMs?: number;
  maxBackoffMs?: number;
}

interface OutboxRow {
  id: string;
  topic: string;
  partition_key: string;
  event_id: string;
  event: unknown;
}

export class OutboxRelay {
  private running = false;
  private session?: PoolClient;
  private producer?: Producer;
  private wake?: () => void;
  private loop?: Promise<void>;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly minPollIntervalMs: number;
  private readonly standbyIntervalMs: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly opts: OutboxRelayOptions) {
    this.batchSize = opts.batchSize ?? 200;
    this.pollIntervalMs = opts.pollIntervalMs ?? 50;
    this.minPollIntervalMs = Math.min(opts.minPollIntervalMs ?? 5, this.pollIntervalMs);
    this.standbyIntervalMs = opts.standbyIntervalMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /** Publishes one batch if this relay holds the lead; returns how many rows went out. Exposed for tests. */
  async publishBatch(): Promise<number> {
    const { rows } = await this.opts.pool.query<OutboxRow>(
      `SELECT id, topic, partition_key, event_id, event FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1`,
      [this.batchSize],
    );
    if (rows.length === 0) return 0;
    const prefix = this.opts.topicPrefix ?? '';
    // Consecutive rows of one topic form one message list; the batch keeps the overall id order per topic.
    const topicMessages: { topic: string; messages: { key: string; value: string; headers: Record<string, string> }[] }[] = [];
    for (const row of rows) {
      const topic = prefix + row.topic;
      let group = topicMessages.find((g) => g.topic === topic);
      if (!group) topicMessages.push((group = { topic, messages: [] }));
      group.messages.push({
        key: row.partition_key,
        value: JSON.stringify(row.event),
        headers: { 'content-type': CLOUDEVENT_CONTENT_TYPE, ce_id: row.event_id },
      });
    }
    const ids = rows.map((r) => r.id);
    try {
      const producer = await this.ensureProducer();
      await producer.sendBatch({ topicMessages, acks: -1 });
    } catch (err) {
      await this.opts.pool
        .query(`UPDATE outbox SET publish_attempts = publish_attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])`, [
          ids,
          (err as Error).message.slice(0, 500),
        ])
        .catch(() => undefined);
      // Start the next attempt with a fresh producer rather than one whose sequence state is in doubt.
      await this.producer?.disconnect().catch(() => undefined);
      this.producer = undefined;
      throw err;
    }
    failpoint('relay-after-publish'); // on Kafka, not yet marked: a restart publishes these again
    await this.opts.pool.query(`UPDATE outbox SET published_at = now(), publish_attempts = publish_attempts + 1 WHERE id = ANY($1::bigint[])`, [ids]);
    return rows.length;
  }

  private async run(): Promise<void> {
    let backoff = 0;
    let wait = this.minPollIntervalMs;
    while (this.running) {
      try {
        if (!(await this.lead())) {
          await this.idle(this.standbyIntervalMs);
          continue;
        }
        const sent = await this.publishBatch();
        backoff = 0;
        if (sent > 0) this.opts.log.debug({ sent }, 'outbox batch published');
        if (sent >= this.batchSize) {
          wait = this.minPollIntervalMs;
          continue;
        }
        if (sent > 0) wait = this.minPollIntervalMs;
        await this.idle(wait);
        if (sent === 0) wait = Math.min(this.pollIntervalMs, wait * 2);
      } catch (err) {
        backoff = Math.min(this.maxBackoffMs, backoff ? backoff * 2 : 250);
        this.opts.log.warn({ err: (err as Error).message, retryInMs: backoff }, 'outbox relay: publish failed, will retry');
        await this.dropSessionIfBroken();
        await this.idle(backoff);
      }
    }
    await this.release();
  }

  /** Holds the leader lock on a dedicated session. */
  private async lead(): Promise<boolean> {
    if (this.session) return true;
    const session = await this.opts.pool.connect();
    const { rows } = await session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [LEADER_LOCK_KEY]);
    if (!rows[0]?.locked) {
      session.release();
      return false;
    }
    session.on('error', () => undefined);
    this.session = session;
    this.opts.log.info('outbox relay: leading');
    return true;
  }

  private async dropSessionIfBroken() {
    if (!this.session) return;
    try {
      await this.session.query('SELECT 1');
    } catch {
      this.session.release(true);
      this.session = undefined;
    }
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async ensureProducer(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.opts.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
      await producer.connect();
      this.producer = producer;
    }
    return this.producer;
  }

  private async release() {
    if (this.session) {
      await this.session.query('SELECT pg_advisory_unlock($1)', [LEADER_LOCK_KEY]).catch(() => undefined);
      this.session.release();
      this.session = undefined;
    }
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
  }
}
