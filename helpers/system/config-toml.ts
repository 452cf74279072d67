/**
 * Reading containerd's config.toml the way containerd does (TOML 1.0, CRLF allowed), and the
 * one setting the lesson cares about, with its type checked: `SystemdCgroup = "true"` is a
 * string, and containerd ignores it.
 */
import { TomlError, parse } from 'smol-toml';

export const RUNC_OPTIONS_PATH = [
  'plugins',
  'io.containerd.cri.v1.runtime',
  'containerd',
  'runtimes',
  'runc',
  'options',
];
/** Where containerd 1.x (config version 2) kept the same setting. */
export const V2_RUNC_OPTIONS_PATH = [
  'plugins',
  'io.containerd.grpc.v1.cri',
  'containerd',
  'runtimes',
  'runc',
  'options',
];

export type Parsed = { ok: true; doc: Record<string, unknown> } | { ok: false; where: string; message: string };

/** Parses TOML; on error says `file:line:column: message`. */
export function parseToml(text: string, file: string): Parsed {
  try {
    return { ok: true, doc: parse(text) };
  } catch (e) {
    if (e instanceof TomlError)
      return {
        ok: false,
        where: `${file}:${e.line}:${e.column}`,
        message: (e.message.split('\n')[0] ?? e.message).trim(),
      };
    throw e;
  }
}

/** The value at a dotted path, or undefined. */
export function valueAt(doc: Record<string, unknown>, path: string[]): unknown {
  let v: unknown = doc;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** `SystemdCgroup` as TOML would print it, to show what was found: true, "true", (absent). */
export function describeValue(v: unknown): string {
  if (v === undefined) return '(absent)';
  if (typeof v === 'string') return `"${v}" (a string)`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return v.toISOString();
  // a TOML table or array where a scalar belongs: shown as one, not as [object Object]
  return JSON.stringify(v);
}
