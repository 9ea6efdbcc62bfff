/** A real S3-protocol server for tests (s3rver, in-process, filesystem-backed, SigV4-checked). */
import type { AddressInfo } from 'node:net';

interface S3rverLike {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverLike;

export interface TestS3 {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  close(): Promise<void>;
}

/**
 * Starts s3rver on a free loopback port (or `port`, to bring a stopped one back at the same
 * endpoint) with `buckets` created; credentials S3RVER/S3RVER; HTTPS with `tls`.
 */
export async function startS3(
  directory: string,
  buckets: string[],
  port = 0,
  tls?: { key: string; cert: string },
): Promise<TestS3> {
  const mod = (await import('s3rver')) as unknown as { default: S3rverCtor };
  const server = new mod.default({
    address: '127.0.0.1',
    port,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
    // With a key and certificate s3rver serves HTTPS.
    ...(tls !== undefined ? { key: tls.key, cert: tls.cert } : {}),
  });
  const addr = await server.run();
  return {
    endpoint: `${tls !== undefined ? 'https' : 'http'}://127.0.0.1:${addr.port}`,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    close: () => server.close(),
  };
}
