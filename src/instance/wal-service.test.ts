import { describe, expect, it } from 'vitest';
import { walCommands } from './wal-service.ts';

describe('the commands PostgreSQL runs', () => {
  const c = walCommands({
    node: '/usr/bin/node',
    client: "/var/lib/pg herd/it's/wal-client.mjs",
    socketPath: '/run/s',
    archiveSpool: '/a',
    restoreSpool: '/r',
  });

  it('quotes every path for /bin/sh', () => {
    expect(c.archiveCommand).toContain(`'/var/lib/pg herd/it'"'"'s/wal-client.mjs'`);
  });

  it('answers restore_command from the spool before asking the manager, and Node only last', () => {
    expect(c.restoreCommand.startsWith("mv '/r'/%f %p 2>/dev/null && exit 0")).toBe(true);
    expect(c.restoreCommand).toContain("'/r'/%f.want");
    // Node runs when the request cannot be left, or when no answer came within the wait.
    expect(c.restoreCommand.indexOf('/usr/bin/node')).toBeGreaterThan(c.restoreCommand.indexOf('.want'));
    expect(c.restoreCommand.lastIndexOf('/usr/bin/node')).toBeGreaterThan(c.restoreCommand.indexOf('done'));
  });
});
