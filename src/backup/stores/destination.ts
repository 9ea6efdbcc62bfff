/**
 * barmanObjectStore.destinationPath: `s3://bucket[/prefix]` (any S3-compatible endpoint) or
 * `file:///absolute/path` (the local platform). Pure.
 */

export type Destination = { kind: 's3'; bucket: string; prefix: string } | { kind: 'file'; path: string };

/** Parses a destinationPath; throws an Error that says what is wrong and what is accepted. */
export function parseDestination(destinationPath: string): Destination {
  const s3 = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(destinationPath);
  if (s3 !== null) {
    const bucket = s3[1]!;
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new Error(
        `destinationPath ${destinationPath}: "${bucket}" is not a valid S3 bucket name (3-63 characters: lower-case letters, digits, dots, hyphens)`,
      );
    }
    return { kind: 's3', bucket, prefix: (s3[2] ?? '').replace(/\/+$/, '') };
  }
  const file = /^file:\/\/(\/.*)$/.exec(destinationPath);
  if (file !== null) {
    const path = file[1]!.replace(/\/+$/, '') || '/';
    if (path.split('/').includes('..')) {
      throw new Error(`destinationPath ${destinationPath}: the path must not contain ".."`);
    }
    return { kind: 'file', path };
  }
  throw new Error(
    `destinationPath ${JSON.stringify(destinationPath)} is neither s3://BUCKET/PATH nor file:///ABSOLUTE/PATH`,
  );
}

/** Joins key parts with '/', without empty parts. */
export function joinKey(...parts: string[]): string {
  return parts
    .flatMap((p) => p.split('/'))
    .filter((p) => p !== '')
    .join('/');
}
