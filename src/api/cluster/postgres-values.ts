/**
 * Reading PostgreSQL setting values the way the server does (guc.c parse_bool, parse_int with
 * memory units). Used by the Cluster rules to check values CNPG checks at admission.
 */

const TRUE_WORDS = ['true', 'yes', 'on', '1'];
const FALSE_WORDS = ['false', 'no', 'off', '0'];

function matchesWord(value: string, word: string): boolean {
  if (word === '1' || word === '0') return value === word;
  // "o" alone is ambiguous between on and off; PostgreSQL wants at least two letters there.
  if (word === 'on' || word === 'off') return value.length >= 2 && word.startsWith(value);
  return value.length >= 1 && word.startsWith(value);
}

/** A boolean setting value (`on`, `off`, `true`, `yes`, `0`, unique prefixes...), or undefined. */
export function parsePostgresBoolean(text: string): boolean | undefined {
  const value = text.trim().toLowerCase();
  if (value === '') return undefined;
  if (TRUE_WORDS.some((word) => matchesWord(value, word))) return true;
  if (FALSE_WORDS.some((word) => matchesWord(value, word))) return false;
  return undefined;
}

const MEMORY_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  kB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};

/**
 * A memory setting in bytes (`256MB`, `1 GB`, `1024`); a bare number is in `defaultUnit`.
 * Undefined when the text is not a memory size.
 */
export function parsePostgresMemory(
  text: string,
  defaultUnit: keyof typeof MEMORY_UNITS,
): number | undefined {
  const match = /^\s*(\d+)\s*(B|kB|MB|GB|TB)?\s*$/.exec(text);
  if (match === null) return undefined;
  const unit = MEMORY_UNITS[match[2] ?? defaultUnit] ?? 1;
  return Number(match[1]) * unit;
}
