import { describe, expect, it } from 'vitest';
import { nextSegmentName, previousSegmentName, walCommands } from './wal-service.ts';

const MB16 = 16 * 1024 * 1024;

describe('segment names around a segment', () => {
  it('steps within a log and across logs (16 MB segments: 256 a log)', () => {
    expect(nextSegmentName('000000010000000000000003', MB16)).toBe('000000010000000000000004');
    expect(nextSegmentName('0000000100000000000000FF', MB16)).toBe('000000010000000100000000');
    expect(previousSegmentName('000000010000000000000004', MB16)).toBe('000000010000000000000003');
    expect(previousSegmentName('000000010000000100000000', MB16)).toBe('0000000100000000000000FF');
  });

  it('knows other segment sizes (1 GB: 4 a log) and the very first segment', () => {
    expect(nextSegmentName('000000020000000000000003', (1024 * MB16) / 16)).toBe('000000020000000100000000');
    expect(previousSegmentName('000000020000000100000000', (1024 * MB16) / 16)).toBe(
      '000000020000000000000003',
    );
    expect(previousSegmentName('000000010000000000000000', MB16)).toBeUndefined();
  });

  it('has no neighbours for history and partial files', () => {
    expect(nextSegmentName('00000002.history', MB16)).toBeUndefined();
    expect(previousSegmentName('000000010000000000000003.partial', MB16)).toBeUndefined();
  });
});

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
