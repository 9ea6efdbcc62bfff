import { majorFromImageName } from '../image-name.ts';
import type { ClusterSpec } from './cluster-spec-schema.ts';

/** The PostgreSQL major version a spec pins, when it says (imageCatalogRef.major or the imageName tag). */
export function declaredMajor(spec: Pick<ClusterSpec, 'imageName' | 'imageCatalogRef'>): number | undefined {
  if (spec.imageCatalogRef !== undefined) return spec.imageCatalogRef.major;
  return spec.imageName === undefined ? undefined : majorFromImageName(spec.imageName);
}
