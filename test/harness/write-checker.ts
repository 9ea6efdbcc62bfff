/**
 * The fault-injection checker: many clients write through `-rw`, each write a single-row
 * autocommit INSERT with a unique id. A write counts as acknowledged only when PostgreSQL
 * answered the COMMIT; writes whose connection failed are "uncertain" (they may or may not
 * have committed) and are never counted as lost. Every acknowledgment records the server's
 * port and timeline, so that the checker can prove no second primary accepted a write: no
 * write is acknowledged on an older timeline after it was sent later than a write the newer
 * timeline had already acknowledged.
 */
import type pg from 'pg';

export interface Ack {
  id: string;
  sentAt: number;
  ackedAt: number;
  port: number;
  timeline: number;
}

export interface CheckerOptions {
  /** Opens a connection through the cluster's -rw service. */
  connect: () => Promise<pg.Client>;
  clients: number;
  /** Pause between a client's writes, ms (0 = as fast as it can). */
  pauseMs?: number;
}

export interface Verdict {
  acknowledged: number;
  uncertain: number;
  /** Acknowledged writes missing on the primary that is checked. */
  lost: string[];
  /** Acknowledgments that a second primary gave (split brain); empty when none. */
  splitBrain: Array<{ older: Ack; newer: Ack }>;
  /** Longest time without any acknowledgment inside the observed window, ms. */
  maxGapMs: number;
  /**
   * The write-unavailability window of a fault injected at `at`: the longest time without an
   * acknowledgment from the last one before `at` on, ms.
   */
  gapAfterMs: (at: number) => number;
}

const TABLE = 'pgherd_checker';
const INSERT = `INSERT INTO ${TABLE} (id) VALUES ($1)
  RETURNING inet_server_port() AS port,
    ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int AS timeline`;

export class WriteChecker {
  readonly acks: Ack[] = [];
  uncertain = 0;
  private running = false;
  /** Ids are unique across checkers writing into the same table. */
  private readonly run = Math.random().toString(36).slice(2, 8);
  private loops: Promise<void>[] = [];
  private readonly o: CheckerOptions;
  constructor(o: CheckerOptions) {
    this.o = o;
  }

  /** Creates the table and starts the writers. */
  async start(): Promise<void> {
    const c = await this.o.connect();
    await c.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (id text PRIMARY KEY, at timestamptz DEFAULT now())`);
    await c.end();
    this.running = true;
    this.loops = Array.from({ length: this.o.clients }, (_, n) => this.writer(n));
  }

  /** Stops the writers (each finishes or abandons its current write). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Waits until at least `count` more writes were acknowledged (or throws after timeoutMs). */
  async waitForAcks(count: number, timeoutMs = 60_000): Promise<void> {
    const target = this.acks.length + count;
    const deadline = Date.now() + timeoutMs;
    while (this.acks.length < target) {
      if (Date.now() > deadline) {
        throw new Error(`only ${this.acks.length} of ${target} writes acknowledged within ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async writer(n: number): Promise<void> {
    let client: pg.Client | undefined;
    let seq = 0;
    while (this.running) {
      if (client === undefined) {
        try {
          client = await this.o.connect();
        } catch {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
      }
      const id = `${this.run}-${n}-${seq++}`;
      const sentAt = Date.now();
      try {
        const r = await client.query<{ port: number; timeline: number }>(INSERT, [id]);
        const row = r.rows[0]!;
        this.acks.push({
          id,
          sentAt,
          ackedAt: Date.now(),
          port: Number(row.port),
          timeline: Number(row.timeline),
        });
      } catch {
        this.uncertain++;
        await client.end().catch(() => {});
        client = undefined;
        continue;
      }
      if (this.o.pauseMs) await new Promise((r) => setTimeout(r, this.o.pauseMs));
    }
    await client?.end().catch(() => {});
  }

  /** Compares what was acknowledged with what the (new) primary has. */
  async verify(primary: pg.Client): Promise<Verdict> {
    const present = new Set(
      (
        await primary.query<{ id: string }>(`SELECT id FROM ${TABLE} WHERE starts_with(id, $1)`, [
          `${this.run}-`,
        ])
      ).rows.map((r) => r.id),
    );
    const acks = [...this.acks].sort((a, b) => a.ackedAt - b.ackedAt);
    const lost = acks.filter((a) => !present.has(a.id)).map((a) => a.id);
    return {
      acknowledged: acks.length,
      uncertain: this.uncertain,
      lost,
      splitBrain: findSplitBrain(acks),
      maxGapMs: maxGap(acks),
      gapAfterMs: (at) => gapAfter(acks, at),
    };
  }
}

/**
 * A write acknowledged on an older timeline although it was sent after a newer timeline had
 * acknowledged one: two primaries accepted writes. Also two ports on one timeline.
 */
export function findSplitBrain(acks: readonly Ack[]): Array<{ older: Ack; newer: Ack }> {
  const out: Array<{ older: Ack; newer: Ack }> = [];
  const firstAckOfTimeline = new Map<number, Ack>();
  const portOfTimeline = new Map<number, number>();
  for (const a of [...acks].sort((x, y) => x.ackedAt - y.ackedAt)) {
    if (!firstAckOfTimeline.has(a.timeline)) firstAckOfTimeline.set(a.timeline, a);
    const port = portOfTimeline.get(a.timeline);
    if (port === undefined) portOfTimeline.set(a.timeline, a.port);
    else if (port !== a.port) out.push({ older: firstAckOfTimeline.get(a.timeline)!, newer: a });
  }
  for (const older of acks) {
    for (const [tli, newer] of firstAckOfTimeline) {
      if (tli > older.timeline && older.sentAt > newer.ackedAt) {
        out.push({ older, newer });
        break;
      }
    }
  }
  return out;
}

function maxGap(sorted: readonly Ack[]): number {
  let gap = 0;
  for (let i = 1; i < sorted.length; i++) gap = Math.max(gap, sorted[i]!.ackedAt - sorted[i - 1]!.ackedAt);
  return gap;
}

/** The longest gap between consecutive acknowledgments whose later one came after `at`. */
function gapAfter(sorted: readonly Ack[], at: number): number {
  let gap = Number.NaN;
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.ackedAt <= at) continue;
    const g = sorted[i]!.ackedAt - sorted[i - 1]!.ackedAt;
    gap = Number.isNaN(gap) ? g : Math.max(gap, g);
  }
  return gap;
}
