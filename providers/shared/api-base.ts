import { z } from 'zod';

/** True for an absolute http(s) URL without credentials, query or fragment. */
export function isApiBaseUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password && !url.search && !url.hash;
  } catch {
    return false;
  }
}

/** A config field holding an API base URL (tests and proxies point it elsewhere). */
export function apiBaseUrlField() {
  return z
    .string()
    .max(2048)
    .refine(isApiBaseUrl, 'must be an absolute http:// or https:// URL without credentials, query or fragment');
}

/** The base without trailing slashes, so paths can be appended. */
export function trimBase(base: string): string {
  return base.replace(/\/+$/, '');
}
