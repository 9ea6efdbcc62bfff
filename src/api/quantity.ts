/**
 * Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource): `1Gi`, `500Mi`, `5G`,
 * `1e3`, `0.5Ti`. Storage sizes are written this way in CNPG manifests.
 */

const QUANTITY =
  /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;

const MULTIPLIERS: Readonly<Record<string, number>> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** The value of a quantity in base units (bytes for storage), or undefined when it is not one. */
export function parseQuantity(text: string): number | undefined {
  const match = QUANTITY.exec(text);
  if (match === null) return undefined;
  const number = Number(match[1]);
  const suffix = match[2] ?? '';
  if (suffix.startsWith('e') || suffix.startsWith('E')) return number * 10 ** Number(suffix.slice(1));
  const multiplier = MULTIPLIERS[suffix];
  return multiplier === undefined ? undefined : number * multiplier;
}

/** Why `text` is not a usable storage size (a positive quantity), or undefined when it is. */
export function checkStorageSize(text: string): string | undefined {
  const bytes = parseQuantity(text);
  if (bytes === undefined) {
    return `${JSON.stringify(text)} is not a Kubernetes quantity: write a number with an optional unit, like 1Gi, 500Mi or 5G`;
  }
  if (!(bytes > 0) || !Number.isFinite(bytes))
    return `${JSON.stringify(text)} must be a size greater than zero`;
  return undefined;
}
