/**
 * How failure is judged, from spec.probes.liveness (pgherd's local defaults when absent):
 * a primary that does not answer for `periodSeconds x failureThreshold` has failed; each status
 * request may take `timeoutSeconds`; an isolated primary (no control plane, no peer) fences
 * itself after the same window. Pure.
 */

export interface LivenessSpec {
  periodSeconds?: number | undefined;
  timeoutSeconds?: number | undefined;
  failureThreshold?: number | undefined;
  isolationCheck?: { enabled: boolean; requestTimeout: number; connectionTimeout: number } | undefined;
}

export interface LivenessSettings {
  periodMs: number;
  /** Budget of one status request. */
  timeoutMs: number;
  /** How long a primary may be unresponsive before it is declared failed. */
  unresponsiveTimeoutMs: number;
  isolation: { enabled: boolean; requestTimeoutMs: number; connectionTimeoutMs: number };
}

export const LIVENESS_DEFAULTS = { periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 5 } as const;

export function livenessSettings(spec: LivenessSpec | undefined): LivenessSettings {
  const period = spec?.periodSeconds ?? LIVENESS_DEFAULTS.periodSeconds;
  const timeout = spec?.timeoutSeconds ?? LIVENESS_DEFAULTS.timeoutSeconds;
  const threshold = spec?.failureThreshold ?? LIVENESS_DEFAULTS.failureThreshold;
  return {
    periodMs: period * 1000,
    timeoutMs: timeout * 1000,
    unresponsiveTimeoutMs: period * threshold * 1000,
    isolation: {
      enabled: spec?.isolationCheck?.enabled ?? true,
      requestTimeoutMs: spec?.isolationCheck?.requestTimeout ?? 1000,
      connectionTimeoutMs: spec?.isolationCheck?.connectionTimeout ?? 1000,
    },
  };
}
