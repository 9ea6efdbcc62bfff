/** What every CLI command gets: the platform it talks to and where to write. */
import type { ControlPlane } from '../ports/control-plane.ts';

export interface CliPlatform {
  /** Human description of where this installation lives (for messages). */
  readonly home: string;
  controlPlane(): ControlPlane;
  /** Starts the control plane in the background unless it already runs. */
  startControlPlane(progress: (msg: string) => void): Promise<{ started: boolean; pid: number }>;
  /** Stops the control plane; with `stopInstances`, PostgreSQL and the router too. */
  stopControlPlane(stopInstances: boolean, progress: (msg: string) => void): Promise<{ wasRunning: boolean }>;
  /** Runs the control plane in this process until it is told to stop. */
  runControlPlane(): Promise<void>;
  /** How to start psql on an instance as the superuser over the local socket. */
  psqlCommand(
    namespace: string,
    cluster: string,
    instance: string,
    port: number,
  ): { command: string; args: string[] };
  /** The JSON log files of a cluster's instances (all, or one). */
  logFiles(namespace: string, cluster: string, instance?: string): Array<{ instance: string; file: string }>;
}

export interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Progress lines for long steps (stderr, so stdout stays parseable). */
  progress: (text: string) => void;
}

export interface CliContext {
  platform: CliPlatform;
  io: Output;
  namespace: string;
}

/** An error the user can fix: exit code 1 with the message. */
export class UserError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}
