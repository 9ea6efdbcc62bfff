import { describe, expect, it } from 'vitest';
import { nftTableName, renderNftTable } from './kernel-routes.ts';

describe('kernel routes', () => {
  it('names one table per home', () => {
    expect(nftTableName('/tmp/a')).toMatch(/^pgherd_[0-9a-f]{12}$/);
    expect(nftTableName('/tmp/a')).not.toBe(nftTableName('/tmp/b'));
  });

  it('renders one DNAT rule per service with backends, round robin over several, none for empty ones', () => {
    expect(
      renderNftTable('pgherd_x', [
        { port: 20001, backends: [20010] },
        { port: 20002, backends: [20011, 20012] },
        { port: 20003, backends: [] },
      ]),
    ).toBe(
      [
        'table ip pgherd_x',
        'delete table ip pgherd_x',
        'table ip pgherd_x {',
        '  chain output {',
        '    type nat hook output priority -100; policy accept;',
        '    ip daddr 127.0.0.1 tcp dport 20001 dnat ip to 127.0.0.1:20010',
        '    ip daddr 127.0.0.1 tcp dport 20002 dnat ip addr . port to numgen inc mod 2 map { 0 : 127.0.0.1 . 20011, 1 : 127.0.0.1 . 20012 }',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });
});
