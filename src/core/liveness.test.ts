import { describe, expect, it } from 'vitest';
import { livenessSettings } from './liveness.ts';

describe('livenessSettings', () => {
  it("uses pgherd's local defaults: a primary unresponsive for 5 s (1 s x 5) has failed", () => {
    expect(livenessSettings(undefined)).toEqual({
      periodMs: 1000,
      timeoutMs: 1000,
      unresponsiveTimeoutMs: 5000,
      isolation: { enabled: true, requestTimeoutMs: 1000, connectionTimeoutMs: 1000 },
    });
  });
  it('follows spec.probes.liveness: the bound is periodSeconds x failureThreshold', () => {
    const s = livenessSettings({
      periodSeconds: 2,
      timeoutSeconds: 3,
      failureThreshold: 4,
      isolationCheck: { enabled: false, requestTimeout: 500, connectionTimeout: 250 },
    });
    expect(s.unresponsiveTimeoutMs).toBe(8000);
    expect(s.timeoutMs).toBe(3000);
    expect(s.isolation).toEqual({ enabled: false, requestTimeoutMs: 500, connectionTimeoutMs: 250 });
  });
});
