/**
 * Targets as people already list them: `--target ssh://user@host[:port]` (repeatable) and Ansible
 * inventories in INI or YAML (hosts, groups, children, vars; ansible_host, ansible_user,
 * ansible_port, ansible_ssh_private_key_file, and lesson_check_profile: a profile file on the
 * controller for that host). `--limit` picks hosts by name or group, with globs, `!` to exclude.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type SshTarget, parseSshUrl } from './ssh.ts';

export interface TargetHost {
  target: SshTarget;
  groups: string[];
  /** A profile file for this host (lesson_check_profile), else the run's --profile. */
  profileFile?: string;
}

type Vars = Record<string, unknown>;

export class InventoryError extends Error {
  override name = 'InventoryError';
}

export function targetsFromUrls(urls: string[]): TargetHost[] {
  return urls.map((u) => ({ target: parseSshUrl(u), groups: [] }));
}

/** Reads an INI or YAML Ansible inventory (YAML when it parses to a mapping with `hosts` or `children`). */
export async function readInventory(file: string): Promise<TargetHost[]> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InventoryError(`${file}: cannot read inventory: ${(e as Error).message}`);
  }
  const hosts = new Map<string, { vars: Vars; groups: Set<string> }>();
  // yaml is big and only YAML inventories need it
  if (
    /\.ya?ml$/i.test(file) ||
    /^\s*(all|[\w-]+)\s*:\s*$/m.test(text.split('\n').find((l) => l.trim() && !l.trim().startsWith('#')) ?? '')
  )
    readYaml(text, file, hosts, (await import('yaml')).parse);
  else readIni(text, file, hosts);
  return [...hosts].map(([name, h]) => toTarget(name, h.vars, [...h.groups], file));
}

function addHost(
  hosts: Map<string, { vars: Vars; groups: Set<string> }>,
  name: string,
  vars: Vars,
  group?: string,
): void {
  const h = hosts.get(name) ?? { vars: {}, groups: new Set<string>() };
  // the more specific wins: callers add group vars first, host vars last
  Object.assign(h.vars, vars);
  if (group && group !== 'all' && group !== 'ungrouped') h.groups.add(group);
  hosts.set(name, h);
}

function readYaml(
  text: string,
  file: string,
  hosts: Map<string, { vars: Vars; groups: Set<string> }>,
  parseYaml: (text: string) => unknown,
): void {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    const pos = (e as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0];
    throw new InventoryError(`${file}${pos ? `:${pos.line}:${pos.col}` : ''}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (typeof doc !== 'object' || doc === null) throw new InventoryError(`${file}: an inventory is a mapping of groups`);
  const walk = (group: string, node: unknown, inherited: Vars, lineage: string[]) => {
    if (node === null || node === undefined) return;
    if (typeof node !== 'object') throw new InventoryError(`${file}: group ${group} must be a mapping`);
    const g = node as { hosts?: Record<string, Vars | null>; vars?: Vars; children?: Record<string, unknown> };
    const vars = { ...inherited, ...(g.vars ?? {}) };
    for (const [name, hostVars] of Object.entries(g.hosts ?? {})) {
      addHost(hosts, name, { ...vars, ...(hostVars ?? {}) });
      for (const l of [...lineage, group]) addHost(hosts, name, {}, l);
    }
    for (const [child, childNode] of Object.entries(g.children ?? {}))
      walk(child, childNode, vars, [...lineage, group]);
  };
  for (const [group, node] of Object.entries(doc as Record<string, unknown>)) walk(group, node, {}, []);
}

function readIni(text: string, file: string, hosts: Map<string, { vars: Vars; groups: Set<string> }>): void {
  const groupHosts = new Map<string, Array<{ name: string; vars: Vars }>>();
  const groupVars = new Map<string, Vars>();
  const children = new Map<string, string[]>();
  let section = 'ungrouped';
  let kind: 'hosts' | 'vars' | 'children' = 'hosts';
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\s[#;].*$/, '').trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;
    const header = /^\[([^\]:]+)(?::(vars|children))?\]$/.exec(line);
    if (header) {
      section = header[1]!;
      kind = (header[2] as 'vars' | 'children' | undefined) ?? 'hosts';
      return;
    }
    if (line.startsWith('[')) throw new InventoryError(`${file}:${i + 1}:1: not a section header: ${line}`);
    if (kind === 'children') children.set(section, [...(children.get(section) ?? []), line]);
    else if (kind === 'vars') {
      const [k, ...v] = line.split('=');
      if (!k || !v.length) throw new InventoryError(`${file}:${i + 1}:1: expected key=value in [${section}:vars]`);
      groupVars.set(section, { ...(groupVars.get(section) ?? {}), [k.trim()]: unquote(v.join('=').trim()) });
    } else {
      const [name, ...pairs] = line.split(/\s+/);
      const vars: Vars = {};
      for (const pair of pairs) {
        const eq = pair.indexOf('=');
        if (eq < 1)
          throw new InventoryError(`${file}:${i + 1}:${raw.indexOf(pair) + 1}: expected key=value, found ${pair}`);
        vars[pair.slice(0, eq)] = unquote(pair.slice(eq + 1));
      }
      groupHosts.set(section, [...(groupHosts.get(section) ?? []), { name: name!, vars }]);
    }
  });
  // a group's hosts are its own and its children's; vars flow from all, to parents, to children
  const lineageOf = (group: string): string[] => {
    const parents = [...children].filter(([, kids]) => kids.includes(group)).map(([p]) => p);
    return [...parents.flatMap(lineageOf), group];
  };
  for (const [group, members] of groupHosts) {
    const lineage = ['all', ...lineageOf(group)];
    for (const m of members) {
      for (const g of lineage) addHost(hosts, m.name, groupVars.get(g) ?? {}, g);
      addHost(hosts, m.name, m.vars);
    }
  }
}

function unquote(v: string): string {
  return /^(['"]).*\1$/.test(v) ? v.slice(1, -1) : v;
}

function toTarget(name: string, vars: Vars, groups: string[], file: string): TargetHost {
  const str = (k: string) => {
    const v = vars[k];
    if (v === undefined || typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    // a YAML mapping or list where a scalar belongs: shown as one, not as [object Object]
    return JSON.stringify(v);
  };
  const port = str('ansible_port');
  if (port !== undefined && !/^\d+$/.test(port))
    throw new InventoryError(`${file}: host ${name}: ansible_port must be a number, not ${port}`);
  const rel = (p: string | undefined) => (p && !isAbsolute(p) ? resolve(dirname(file), p) : p);
  return {
    target: {
      name,
      host: str('ansible_host') ?? name,
      user: str('ansible_user'),
      port: port ? Number(port) : undefined,
      identityFile: rel(str('ansible_ssh_private_key_file')),
      ...sshOptionsOf(name, file, [str('ansible_ssh_common_args'), str('ansible_ssh_extra_args')]),
      become: becomeOf(vars),
    },
    groups,
    profileFile: rel(str('lesson_check_profile')),
  };
}

/** ansible_ssh_common_args and ansible_ssh_extra_args, in that order, split into ssh's words. */
function sshOptionsOf(name: string, file: string, values: Array<string | undefined>): Pick<SshTarget, 'sshOptions'> {
  const words = values.flatMap((v) => (v ? splitShellWords(v, `${file}: host ${name}`) : []));
  return words.length ? { sshOptions: words } : {};
}

/** ansible_become / ansible_become_user as the transport takes them. */
function becomeOf(vars: Vars): SshTarget['become'] {
  const become = vars.ansible_become;
  if (become === false || (typeof become === 'string' && /^(false|no|0)$/i.test(become))) return false;
  const user = vars.ansible_become_user;
  return typeof user === 'string' && user ? { user } : undefined;
}

/**
 * Splits ssh options the way Ansible does (Python's shlex in POSIX mode): words apart at blanks,
 * quotes grouping and removed, a backslash taking the next character. The words reach ssh as
 * arguments of their own, never through a shell: `$(…)` or `;` in them is text.
 */
export function splitShellWords(text: string, where: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    const next = text[i + 1] ?? '';
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else word += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === '\\' && next && '\\"$`'.includes(next)) word += text[++i];
      else word += ch;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\') {
      if (!next) throw new InventoryError(`${where}: ssh arguments end in a lone backslash`);
      word += text[++i];
      inWord = true;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new InventoryError(`${where}: ssh arguments have an unclosed ${quote}`);
  if (inWord) words.push(word);
  return words;
}

/** Ansible-style --limit: names or groups, comma- or colon-separated, `*` globs, `!` excludes. */
export function limitHosts(hosts: TargetHost[], pattern: string | undefined): TargetHost[] {
  if (!pattern) return hosts;
  const parts = pattern
    .split(/[,:]/)
    .map((p) => p.trim())
    .filter(Boolean);
  const glob = (p: string) =>
    new RegExp(
      `^${p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
  const matches = (h: TargetHost, p: string) => [h.target.name, ...h.groups].some((n) => glob(p).test(n));
  const include = parts.filter((p) => !p.startsWith('!'));
  const exclude = parts.filter((p) => p.startsWith('!')).map((p) => p.slice(1));
  return hosts.filter(
    (h) => (include.length === 0 || include.some((p) => matches(h, p))) && !exclude.some((p) => matches(h, p)),
  );
}

/** --shard i/n: every n-th host by name, so that n runners split a class deterministically. */
export function shardHosts(hosts: TargetHost[], shard: string | undefined): TargetHost[] {
  if (!shard) return hosts;
  const m = /^(\d+)\/(\d+)$/.exec(shard);
  const [i, n] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (!m || n < 1 || i < 1 || i > n) throw new InventoryError(`--shard ${shard}: write i/n with 1 ≤ i ≤ n`);
  return [...hosts].sort((a, b) => a.target.name.localeCompare(b.target.name)).filter((_, k) => k % n === i - 1);
}
