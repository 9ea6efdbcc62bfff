/**
 * Container image references as CNPG reads them (machinery pkg/image/reference and
 * pkg/postgres/version): the tag carries the PostgreSQL version, so `latest` and digest-only
 * references are refused (upgrades could not be detected).
 */

const DIGEST = /@sha256:([a-fA-F0-9]+)$/;
const TAG = /:([^/]+)$/;
const HOST = /^[^./:]+((\.[^./:]+)+(:[0-9]+)?|:[0-9]+)\//;
const VERSION_PREFIX = /^(\d\.?)+/;

/** The parts of an image reference. */
export interface ImageReference {
  name: string;
  tag: string;
  digest: string;
}

/** Splits an image reference like CNPG does: `postgres` is `docker.io/library/postgres:latest`. */
export function parseImageReference(image: string): ImageReference {
  let name = image;
  if (!name.includes('/')) name = `docker.io/library/${name}`;
  else if (!HOST.test(name)) name = `docker.io/${name}`;
  let digest = '';
  const digestMatch = DIGEST.exec(name);
  if (digestMatch !== null) {
    digest = digestMatch[1] ?? '';
    name = name.slice(0, name.length - digestMatch[0].length);
  }
  let tag = '';
  const tagMatch = TAG.exec(name);
  if (tagMatch !== null) {
    tag = tagMatch[1] ?? '';
    name = name.slice(0, name.length - tagMatch[0].length);
  } else if (digest === '') {
    tag = 'latest';
  }
  return { name, tag, digest };
}

/** The PostgreSQL major and minor version a tag starts with (`18.6-system-trixie` -> 18, 6). */
export function versionFromTag(tag: string): { major: number; minor: number } | undefined {
  const prefix = VERSION_PREFIX.exec(tag)?.[0];
  if (prefix === undefined) return undefined;
  const [majorText = '', minorText] = prefix.split('.');
  const major = Number.parseInt(majorText, 10);
  if (!Number.isFinite(major)) return undefined;
  const minor = minorText === undefined || minorText === '' ? 0 : Number.parseInt(minorText, 10);
  if (!Number.isFinite(minor) || minor >= 100) return undefined;
  return { major, minor };
}

/** Why an image name cannot be used (CNPG's validateImageName), or undefined when it can. */
export function checkImageName(image: string): string | undefined {
  const { tag } = parseImageReference(image);
  if (tag === 'latest')
    return `can't use "latest" as image tag: pgherd could not detect upgrades; name a version`;
  if (tag === '') return `can't use only an image digest: the tag must name the PostgreSQL version`;
  if (versionFromTag(tag) === undefined)
    return `invalid version tag ${JSON.stringify(tag)}: the tag must start with the PostgreSQL version`;
  return undefined;
}

/** The PostgreSQL major version an image name declares, when its tag has one. */
export function majorFromImageName(image: string): number | undefined {
  return versionFromTag(parseImageReference(image).tag)?.major;
}
