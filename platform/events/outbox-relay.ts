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
 * - A row the broker refuses for what it is (too large, invalid): the relay finds it by sending the batch one row at
 *   a time; it holds the rows behind it (order) until it has been refused `deadLetterAfter` times, then marks it
 *   dead (status, reason, attempts; listed by the `outbox_dead_letters` view) and moves on, so one poisoned row
 *   cannot hold every tenant's events. Its aggregate's later events go out without it: an operator republishes it
 *   (sets it back to pending) once the cause is fixed, and consumers see it late.
 * - Retention: the leader deletes published rows older than `retentionHours`, `purgeBatchSize` at a time (again at
 *   once while batches come back full, else every `purgeIntervalMs`), between publishing batches. Pending and dead
 *   rows are never deleted (the database refuses it).
 */
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from '../logger';
import { failpoint } from '../failpoints';
import { CLOUDEVENT_CONTENT_TYPE } from './cloudevent';
import { OutboxStore, refusalOf, type PendingRow } from './outbox-store';

const LEADER_LOCK_KEY = 7_314_159_265; // pg advisory lock id owned by the relay

export interface OutboxRelayOptions {
  /** Connects as the relay role (BYPASSRLS; may only read the outbox and mark rows published or dead). */
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
  /** How many times the broker may refuse a row on its own before it is dead-lettered (default 5). */
  deadLetterAfter?: number;
  /** How long published rows are kept (default 168 h). */
  retentionHours?: number;
  /** Rows deleted per purge statement (default 500), and how often the purge runs when nothing is due (default 60 s). */
  purgeBatchSize?: number;
  purgeIntervalMs?: number;
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
  private readonly deadLetterAfter: number;
  private readonly retentionHours: number;
  private readonly purgeBatchSize: number;
  private readonly purgeIntervalMs: number;
  private nextPurgeAt = 0;
  private readonly store: OutboxStore;

  constructor(private readonly opts: OutboxRelayOptions) {
    this.batchSize = opts.batchSize ?? 200;
    this.pollIntervalMs = opts.pollIntervalMs ?? 50;
    this.minPollIntervalMs = Math.min(opts.minPollIntervalMs ?? 5, this.pollIntervalMs);
    this.standbyIntervalMs = opts.standbyIntervalMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.deadLetterAfter = opts.deadLetterAfter ?? 5;
    this.retentionHours = opts.retentionHours ?? 168;
    this.purgeBatchSize = opts.purgeBatchSize ?? 500;
    this.purgeIntervalMs = opts.purgeIntervalMs ?? 60_000;
    this.store = new OutboxStore(opts.pool);
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

  /** Publishes one batch; returns how many rows it settled (published or dead-lettered). Exposed for tests. */
  async publishBatch(): Promise<number> {
    const rows = await this.store.pending(this.batchSize);
    if (rows.length === 0) return 0;
    try {
      await this.send(rows);
    } catch (err) {
      if (!refusalOf(err)) {
        await this.store.recordFailure(rows, err);
        throw err;
      }
      // The broker refused something in the batch for what it is: find it by sending the rows one at a time.
      return this.publishOneByOne(rows);
    }
    failpoint('relay-after-publish'); // on Kafka, not yet marked: a restart publishes these again
    await this.store.markPublished(rows);
    return rows.length;
  }

  /** Deletes one batch of published rows past the retention; returns how many. Exposed for tests. */
  purge(): Promise<number> {
    return this.store.purge(this.retentionHours, this.purgeBatchSize);
  }

  /** Purges when due; a failure is logged and retried later, never in the way of publishing. */
  private async purgeIfDue(): Promise<void> {
    if (Date.now() < this.nextPurgeAt) return;
    try {
      const purged = await this.purge();
      if (purged > 0) this.opts.log.debug({ purged }, 'outbox rows purged');
      this.nextPurgeAt = purged >= this.purgeBatchSize ? 0 : Date.now() + this.purgeIntervalMs;
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'outbox relay: purge failed, will retry');
      this.nextPurgeAt = Date.now() + this.purgeIntervalMs;
    }
  }

  private async publishOneByOne(rows: PendingRow[]): Promise<number> {
    for (const [i, row] of rows.entries()) {
      try {
        await this.send([row]);
      } catch (err) {
        const refusal = refusalOf(err);
        if (!refusal) {
          await this.store.recordFailure(rows.slice(i), err);
          throw err;
        }
        // Not yet dead: the rows behind it wait for the next attempt, in order.
        if (!(await this.store.recordRefusal(row, err, this.deadLetterAfter))) throw err;
        this.opts.log.error(
          { outboxId: row.id, eventId: row.event_id, eventType: row.event_type, tenantId: row.tenant_id, topic: row.topic, refusal },
          'outbox relay: the broker refused a row; dead-lettered, moving on',
        );
        continue;
      }
      failpoint('relay-after-publish');
      await this.store.markPublished([row]);
    }
    return rows.length;
  }

  /** Sends rows in one batch; on failure the producer is dropped, so the next attempt starts with a fresh one. */
  private async send(rows: PendingRow[]): Promise<void> {
    const prefix = this.opts.topicPrefix ?? '';
    // Rows of one topic form one message list; the batch keeps the overall id order per topic.
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
    try {
      const producer = await this.ensureProducer();
      await producer.sendBatch({ topicMessages, acks: -1 });
    } catch (err) {
      // A producer whose sequence state is in doubt is not reused.
      await this.producer?.disconnect().catch(() => undefined);
      this.producer = undefined;
      throw err;
    }
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
        await this.purgeIfDue();
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
