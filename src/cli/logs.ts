/** `pgherd logs CLUSTER [INSTANCE] [-f]`: the JSON log lines of a cluster's instances. */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { type CliContext, UserError } from './context.ts';

export async function logsCommand(
  ctx: CliContext,
  cluster: string,
  instance: string | undefined,
  follow: boolean,
) {
  const files = ctx.platform.logFiles(ctx.namespace, cluster, instance);
  const present = files.filter((f) => existsSync(f.file));
  if (present.length === 0) {
    throw new UserError(
      `no logs for ${instance ?? cluster}${instance ? '' : ' (no instance has started yet)'} under ${ctx.platform.home}`,
      'PGHERD_CLI_NO_LOGS',
    );
  }
  const offsets = new Map<string, number>();
  const partial = new Map<string, string>();
  const drain = (): void => {
    const batch: Array<{ ts: string; line: string }> = [];
    for (const f of present) {
      if (!existsSync(f.file)) continue;
      const size = statSync(f.file).size;
      const from = offsets.get(f.file) ?? 0;
      if (size <= from) continue;
      const fd = openSync(f.file, 'r');
      const buf = Buffer.alloc(size - from);
      readSync(fd, buf, 0, buf.length, from);
      closeSync(fd);
      offsets.set(f.file, size);
      const lines = ((partial.get(f.file) ?? '') + buf.toString('utf8')).split('\n');
      partial.set(f.file, lines.pop() ?? '');
      for (const line of lines) {
        if (line.trim() === '') continue;
        let ts = '';
        try {
          ts = String((JSON.parse(line) as { ts?: string }).ts ?? '');
        } catch {
          /* not JSON: keep the file order */
        }
        batch.push({ ts, line });
      }
    }
    batch.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    for (const b of batch) ctx.io.out(b.line);
  };
  drain();
  if (!follow) return;
  await new Promise<void>((resolve) => {
    const t = setInterval(drain, 200);
    process.once('SIGINT', () => {
      clearInterval(t);
      resolve();
    });
  });
}
