import { z } from 'zod';
import type { PathSegment } from './field-path.ts';

/** Looks through wrappers (optional, default, transform, ...) to the schema that holds the data. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (;;) {
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable ||
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault ||
      current instanceof z.ZodReadonly
    ) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      return current;
    }
  }
}

/** The schema that validates the value at `path` below `schema`, if the path exists in it. */
export function schemaAt(schema: z.ZodType, path: readonly PathSegment[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = unwrap(schema);
  for (const segment of path) {
    if (current instanceof z.ZodObject) {
      const child: z.ZodType | undefined = typeof segment === 'string' ? current.shape[segment] : undefined;
      current = child === undefined ? undefined : unwrap(child);
    } else if (current instanceof z.ZodArray) {
      current = unwrap(current.element as z.ZodType);
    } else if (current instanceof z.ZodRecord) {
      current = unwrap(current.valueType as z.ZodType);
    } else {
      return undefined;
    }
    if (current === undefined) return undefined;
  }
  return current;
}

/** The field names a mapping at `path` accepts (empty when the path is not a fixed-shape mapping). */
export function knownKeysAt(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  const target = schemaAt(schema, path);
  return target instanceof z.ZodObject ? Object.keys(target.shape) : [];
}
