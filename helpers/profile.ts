/**
 * One typed object says where everything is and what is expected. `lessonProfile()` holds the
 * lesson's real paths and pins; a sandbox maps the same layout under a prefix. A user overrides
 * either with a TOML file (`prefix = "…"` at its top selects the sandbox layout).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { TomlError, parse } from 'smol-toml';
import { firstLine } from './host/host-text.ts';

export interface Profile {
  name: string;
  /** '' for the lesson's real paths; the sandbox root otherwise. */
  prefix: string;
  service: 'systemd' | 'supervised';
  paths: {
    containerd: string;
    ctr: string;
    shim: string;
    runc: string;
    nerdctl: string;
    configToml: string;
    socket: string;
    cniBinDir: string;
    cniConfDir: string;
    unitFile: string;
    bashCompletion: string;
    /** hosts.toml registry config dir; ctr reads it only when given `--hosts-dir`. '' = none. */
    hostsDir: string;
    /** Where the supervised daemon records its PID (sandbox only). */
    pidFile: string;
    /** nerdctl's --data-root. */
    nerdctlDataRoot: string;
    /** Sandbox only ('' = runc's default): runc's state dir and the cgroup parent for `ctr run`,
     * so that two labs running the lesson's `hello` at once never share runc state or a cgroup. */
    runcRoot: string;
    cgroupParent: string;
  };
  versions: { containerd: string; runc: string; nerdctl: string; cniPlugins: string };
  images: { hello: string; podinfo: string };
  expect: {
    /** Regular expression the hello image must print; '' means any non-empty output. */
    helloOutput: string;
    podinfoPort: number;
    /** The name the lesson gives the podinfo container. */
    podinfoName: string;
    /** nerdctl's default bridge network. */
    nerdctlSubnet: string;
    /** CNI plugins nerdctl's default network needs, plus loopback. */
    cniPlugins: string[];
    /** Host tools the lesson's commands use. */
    hostTools: string[];
  };
  /** Parts of the lesson this host cannot have, each with the reason ('' = available). Their
   * checks are skipped as not applicable, saying so. */
  unavailable: { nerdctl: string };
  /** Facts about where the binaries and images came from, for reports; `podinfo` is the version
   * of the podinfo image when it is the real program, built from source ('' = a stand-in or
   * unknown). */
  provenance: { source: string; standInImages: boolean; podinfo: string; notes: string[] };
}

export const LESSON_VERSIONS = { containerd: '2.2.1', runc: '1.4.0', nerdctl: '2.2.1', cniPlugins: '1.9.0' };

/** The lesson's layout under `prefix` ('' = the real system paths). */
function layout(prefix: string): Profile['paths'] {
  const p = (path: string) => (prefix ? join(prefix, path) : path);
  return {
    containerd: p('/usr/local/bin/containerd'),
    ctr: p('/usr/local/bin/ctr'),
    shim: p('/usr/local/bin/containerd-shim-runc-v2'),
    runc: p('/usr/local/sbin/runc'),
    nerdctl: p('/usr/local/bin/nerdctl'),
    configToml: p('/etc/containerd/config.toml'),
    socket: p('/run/containerd/containerd.sock'),
    cniBinDir: p('/opt/cni/bin'),
    cniConfDir: p('/etc/cni/net.d'),
    unitFile: p('/etc/systemd/system/containerd.service'),
    bashCompletion: p('/etc/bash_completion.d/nerdctl'),
    hostsDir: prefix ? p('/etc/containerd/certs.d') : '',
    pidFile: prefix ? p('/run/containerd/containerd.pid') : '',
    nerdctlDataRoot: p('/var/lib/nerdctl'),
    runcRoot: prefix ? p('/run/runc') : '',
    cgroupParent: prefix ? `/lc-${basename(prefix)}` : '',
  };
}

export function lessonProfile(): Profile {
  return {
    name: 'lesson',
    prefix: '',
    service: 'systemd',
    paths: layout(''),
    versions: { ...LESSON_VERSIONS },
    images: {
      hello: 'ghcr.io/sagikazarmark/docker-hello-world:latest',
      podinfo: 'ghcr.io/stefanprodan/podinfo:latest',
    },
    expect: {
      // The real image's exact greeting is unconfirmed: any non-empty output passes.
      helloOutput: '',
      podinfoPort: 9898,
      podinfoName: 'podinfo',
      nerdctlSubnet: '10.4.0.0/24',
      cniPlugins: ['bridge', 'host-local', 'portmap', 'firewall', 'tuning', 'loopback'],
      hostTools: ['tar', 'curl'],
    },
    unavailable: { nerdctl: '' },
    provenance: { source: 'lesson', standInImages: false, podinfo: '', notes: [] },
  };
}

export function sandboxProfile(prefix: string): Profile {
  return { ...lessonProfile(), name: 'sandbox', prefix, service: 'supervised', paths: layout(prefix) };
}

/** The file a run reads its profile from: the one given, or for 'lesson' an (empty, so all
 * defaults) profile written into the run's own `dir`. */
export function profileFileFor(arg: string, dir: string): string {
  if (arg !== 'lesson') return arg;
  const file = join(dir, 'lesson.toml');
  writeFileSync(file, "# the lesson profile: the lesson's real paths and pinned versions\n");
  return file;
}

/** A profile file could not be used: says which file, where and why. */
export class ProfileError extends Error {
  override name = 'ProfileError';
}

/** Reads a TOML profile: `prefix` picks the sandbox layout, every other key overrides a default. */
export function loadProfile(file: string): Profile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ProfileError(`${file}: cannot read profile: ${(e as Error).message}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (e) {
    if (e instanceof TomlError) throw new ProfileError(`${file}:${e.line}:${e.column}: ${firstLine(e.message)}`);
    throw e;
  }
  const { prefix, ...overrides } = doc;
  if (prefix !== undefined && typeof prefix !== 'string') throw new ProfileError(`${file}: prefix must be a string`);
  const base: Profile = prefix ? sandboxProfile(prefix) : lessonProfile();
  mergeInto(base as unknown as Record<string, unknown>, overrides, file, '');
  return base;
}

/** Copies `over` onto `base`, refusing unknown keys and values of another type than the default's. */
function mergeInto(base: Record<string, unknown>, over: Record<string, unknown>, file: string, at: string): void {
  for (const [key, value] of Object.entries(over)) {
    const path = at ? `${at}.${key}` : key;
    if (!(key in base)) throw new ProfileError(`${file}: unknown key \`${path}\``);
    const current = base[key];
    if (isTable(current)) {
      if (!isTable(value)) throw new ProfileError(`${file}: \`${path}\` must be a table`);
      mergeInto(current, value, file, path);
      continue;
    }
    const wanted = kindOf(current);
    if (kindOf(value) !== wanted)
      throw new ProfileError(`${file}: \`${path}\` must be ${wanted}, not ${JSON.stringify(value)}`);
    if (path === 'service' && !SERVICES.includes(value as string))
      throw new ProfileError(`${file}: \`service\` must be "systemd" or "supervised", not ${JSON.stringify(value)}`);
    base[key] = value;
  }
}

const SERVICES: readonly string[] = ['systemd', 'supervised'] satisfies Array<Profile['service']>;

/** A value's kind as a profile's defaults have them (every number is an integer, every array one of strings). */
function kindOf(v: unknown): string {
  if (Array.isArray(v)) return v.every((x) => typeof x === 'string') ? 'an array of strings' : 'an array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a number';
  return `a ${typeof v}`;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** What a run's own profile file holds (`lab --keep`, the walkthrough): what the run set. */
const RUN_KEYS: Record<string, readonly string[] | 'all'> = {
  versions: 'all',
  expect: ['helloOutput', 'nerdctlSubnet'],
  unavailable: 'all',
  provenance: 'all',
};

export interface ProfileTomlOptions {
  /** Every key of the profile, not only what a run sets. */
  all?: boolean;
  /** A comment above a key or a table, by its dotted path (`paths.runc`, `paths`). */
  notes?: Readonly<Record<string, string>>;
}

/** Writes a profile as TOML that loadProfile reads back: `prefix` first ('' = the lesson's real
 * paths), then what a run sets, or with `all` every key. */
export function profileToml(profile: Profile, comment: string[], opts: ProfileTomlOptions = {}): string {
  const note = (path: string) => {
    const text = opts.notes?.[path];
    return text ? text.split('\n').map((l) => `# ${l}`) : [];
  };
  const doc = profile as unknown as Record<string, unknown>;
  const lines = comment.map((c) => (c ? `# ${c}` : ''));
  const top = opts.all ? ['prefix', 'name', 'service'] : ['prefix', 'name'];
  for (const key of top) lines.push(...note(key), `${key} = ${tomlValue(doc[key])}`);
  for (const [table, values] of Object.entries(doc)) {
    if (!isTable(values)) continue;
    const run = RUN_KEYS[table];
    const keys = opts.all || run === 'all' ? Object.keys(values) : (run ?? []);
    if (!keys.length) continue;
    lines.push('', ...note(table), `[${table}]`);
    for (const key of keys) lines.push(...note(`${table}.${key}`), `${key} = ${tomlValue(values[key])}`);
  }
  lines.push('');
  return lines.join('\n');
}

/** A profile's value in TOML: a basic string, an integer, a boolean or an array of them. */
function tomlValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(', ')}]`;
  // JSON's escapes are TOML's, but for DEL, which TOML wants escaped too
  if (typeof v === 'string') return JSON.stringify(v).replaceAll('\x7f', '\\u007f');
  return String(v);
}
