import type { z } from 'zod';
import type { PathSegment } from './field-path.ts';
import type { IssueCode } from './issue-codes.ts';

/** Where an issue is shown: at the value (default) or at the key naming it. */
export type IssueAnchor = 'value' | 'key';

/** Adds an issue carrying a pgherd code (read back by the issue translator). */
export function addIssue(
  ctx: z.RefinementCtx,
  code: IssueCode,
  message: string,
  path: readonly PathSegment[] = [],
  anchor: IssueAnchor = 'value',
): void {
  ctx.addIssue({ code: 'custom', message, params: { code, anchor }, path: [...path] });
}

/** A `superRefine` callback from a check that returns why a value is wrong (or undefined). */
export function refineWith<T>(
  check: (value: T) => string | undefined,
  code: IssueCode,
): (value: T, ctx: z.RefinementCtx) => void {
  return (value, ctx) => {
    const message = check(value);
    if (message !== undefined) addIssue(ctx, code, message);
  };
}
