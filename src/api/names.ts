/**
 * Kubernetes naming rules (k8s.io/apimachinery/pkg/util/validation). Each check returns a sentence
 * saying what is wrong, or undefined. PostgreSQL identifiers are checked by postgres/identifiers.ts.
 */

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]+$/;

/** A DNS-1035 label: lowercase letters, digits and '-', starting with a letter, at most 63 characters. */
export function checkDns1035Label(value: string): string | undefined {
  if (value.length > 63) return `must be at most 63 characters (has ${value.length})`;
  if (!DNS1035_LABEL.test(value)) {
    return 'must be a DNS-1035 label: lowercase letters, digits and "-", starting with a letter and ending with a letter or digit';
  }
  return undefined;
}

/** A DNS-1123 label (namespaces): lowercase letters, digits and '-', at most 63 characters. */
export function checkDns1123Label(value: string): string | undefined {
  if (value.length > 63) return `must be at most 63 characters (has ${value.length})`;
  if (!DNS1123_LABEL.test(value)) {
    return 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit';
  }
  return undefined;
}

/** A DNS-1123 subdomain (Secret names): DNS-1123 labels joined by '.', at most 253 characters. */
export function checkDns1123Subdomain(value: string): string | undefined {
  if (value.length > 253) return `must be at most 253 characters (has ${value.length})`;
  if (!DNS1123_SUBDOMAIN.test(value)) {
    return 'must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit';
  }
  return undefined;
}

/** A label or annotation key: `[prefix/]name`, prefix a DNS-1123 subdomain, name up to 63 characters. */
export function checkQualifiedName(value: string): string | undefined {
  const parts = value.split('/');
  if (parts.length > 2)
    return 'must be a qualified name: an optional DNS subdomain prefix and "/", then a name';
  const name = parts.length === 2 ? (parts[1] ?? '') : (parts[0] ?? '');
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix === '' || checkDns1123Subdomain(prefix) !== undefined) {
      return 'must be a qualified name: the prefix before "/" must be a DNS subdomain (like example.com)';
    }
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME_PART.test(name)) {
    return 'must be a qualified name: up to 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
  }
  return undefined;
}

/** A label value: empty, or up to 63 letters, digits, '-', '_' and '.', starting and ending alphanumeric. */
export function checkLabelValue(value: string): string | undefined {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    return 'must be a label value: up to 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
  }
  return undefined;
}

/** A Secret data key: letters, digits, '-', '_' and '.', not "." or "..", at most 253 characters. */
export function checkSecretKey(value: string): string | undefined {
  if (value.length > 253 || !CONFIG_MAP_KEY.test(value) || value === '.' || value === '..') {
    return 'must be a valid secret key: letters, digits, "-", "_" and "." (not "." or ".."), at most 253 characters';
  }
  return undefined;
}
