/**
 * Re-emits PostgreSQL's own log (jsonlog, written by the logging collector) in the instance
 * manager's JSON stream with `logger: postgres`, as CNPG does with its csvlog FIFO.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import { logPostgresRecord } from '../observability/logger.ts';
import { fromJsonLog } from '../postgres/log-record.ts';

export class LogTail {
  private offset = 0;
  private partial = '';
  private timer: NodeJS.Timeout | undefined;

  /**
   * `logger` carries `logger: postgres`. `fromStart`: a fresh instance reads everything; an
   * adopting manager starts at the end.
   */
  private readonly file: string;
  private readonly logger: Logger;
  constructor(file: string, logger: Logger, fromStart: boolean) {
    this.file = file;
    this.logger = logger;
    if (!fromStart && existsSync(file)) this.offset = statSync(file).size;
  }

  start(intervalMs = 200): void {
    this.timer = setInterval(() => this.poll(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.poll();
  }

  /** Reads what was appended since the last call and logs each complete line. */
  poll(): void {
    if (!existsSync(this.file)) return;
    const size = statSync(this.file).size;
    if (size < this.offset) this.offset = 0; // truncated or replaced (e.g. a re-cloned data dir)
    if (size === this.offset) return;
    const fd = openSync(this.file, 'r');
    try {
      const buf = Buffer.alloc(Math.min(size - this.offset, 4 * 1024 * 1024));
      const n = readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      const text = this.partial + buf.subarray(0, n).toString('utf8');
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        const rec = fromJsonLog(line);
        if (rec === undefined) {
          this.logger.info({ raw: line }, 'record');
          continue;
        }
        logPostgresRecord(this.logger, rec);
      }
    } finally {
      closeSync(fd);
    }
  }
}
