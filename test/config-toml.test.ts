// containerd's config.toml as R3 reads it: TOML 1.0 with CRLF, value types checked, and a
// malformed file named by line and column.
import { describe, expect, test } from 'vitest';
import {
  RUNC_OPTIONS_PATH,
  V2_RUNC_OPTIONS_PATH,
  describeValue,
  parseToml,
  valueAt,
} from '../helpers/system/config-toml.ts';

const LESSON =
  'version = 3\n\n[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]\nSystemdCgroup = true\n';

function systemdCgroup(text: string): unknown {
  const parsed = parseToml(text, 'config.toml');
  if (!parsed.ok) throw new Error(parsed.message);
  return valueAt(parsed.doc, [...RUNC_OPTIONS_PATH, 'SystemdCgroup']);
}

describe('config.toml', () => {
  test("the lesson's config sets the boolean", () => {
    expect(systemdCgroup(LESSON)).toBe(true);
  });

  test('CRLF line ends and a comment before them parse as containerd parses them', () => {
    expect(systemdCgroup(`# written on Windows\r\n${LESSON.replace(/\n/g, '\r\n')}`)).toBe(true);
  });

  test('a quoted "true" is a string, and says so', () => {
    const v = systemdCgroup(LESSON.replace('= true', '= "true"'));
    expect(v).toBe('true');
    expect(describeValue(v)).toBe('"true" (a string)');
  });

  test('the setting under the version 2 plugin name is not the version 3 one', () => {
    const text =
      'version = 3\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\nSystemdCgroup = true\n';
    const parsed = parseToml(text, 'config.toml');
    expect(parsed.ok && valueAt(parsed.doc, [...RUNC_OPTIONS_PATH, 'SystemdCgroup'])).toBeUndefined();
    expect(parsed.ok && valueAt(parsed.doc, [...V2_RUNC_OPTIONS_PATH, 'SystemdCgroup'])).toBe(true);
  });

  test('a malformed file is reported with file, line and column', () => {
    const parsed = parseToml(
      'version = 3\n\n[plugins."io.containerd.cri.v1.runtime"\nSystemdCgroup = true\n',
      '/etc/containerd/config.toml',
    );
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.where).toMatch(/^\/etc\/containerd\/config\.toml:3:\d+$/);
  });

  test('a duplicate key, which TOML forbids, is rejected', () => {
    expect(parseToml('version = 3\nversion = 3\n', 'c.toml').ok).toBe(false);
  });
});
