/**
 * A class's hosts as people already list them: `--target ssh://user@host[:port]` (repeatable) and
 * Ansible inventories. An inventory is read through Ansible (`ansible-inventory`) when it is on
 * PATH, so scripts, plugins, folders, group_vars/host_vars and vaulted values work as in Ansible;
 * otherwise by the built-in reader of static INI and YAML files (and their group_vars/host_vars).
 * Whichever read it, the same variables are honoured: ansible_host, ansible_user, ansible_port,
 * ansible_ssh_private_key_file, ansible_ssh_common_args/_extra_args, ansible_become(_user), and
 * lesson_check_profile (a profile file on the controller for that host). `--limit` is Ansible's.
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type SshTarget, parseSshUrl } from '../host/ssh.ts';
import { ansibleOnPath, readWithAnsible } from './ansible-reader.ts';
import { limitTree } from './patterns.ts';
import { splitShellWords } from './shell-words.ts';
import { readStaticInventory } from './static-reader.ts';
import {
  InventoryError,
  type InventoryTree,
  type Vars,
  emptyTree,
  groupNamed,
  groupsOfHost,
  isTemplate,
  parentsOf,
} from './tree.ts';

export { InventoryError } from './tree.ts';
export { splitShellWords } from './shell-words.ts';

export interface TargetHost {
  target: SshTarget;
  groups: string[];
  /** A profile file for this host (lesson_check_profile), else the run's --profile. */
  profileFile?: string;
}

export const INVENTORY_READERS = ['auto', 'ansible', 'built-in'] as const;
export type InventoryReader = (typeof INVENTORY_READERS)[number];

export interface InventoryOptions {
  /** Ansible's --limit pattern. */
  limit?: string;
  vaultPasswordFile?: string;
  /** auto: ansible-inventory when it is on PATH, the built-in reader otherwise. */
  reader?: InventoryReader;
}

export interface Inventory {
  /** The hosts --limit left (all without one), in inventory order. */
  hosts: TargetHost[];
  /** Which reader read it, for the console and the reports. */
  reader: string;
  /** The parts of --limit that matched no group and no host. */
  unmatched: string[];
}

export function targetsFromUrls(urls: string[]): TargetHost[] {
  return urls.map((u) => ({ target: parseSshUrl(u), groups: [] }));
}

/** Reads an inventory (a file, a folder or a script) with the reader there is, and applies --limit. */
export async function readInventory(path: string, opts: InventoryOptions = {}): Promise<Inventory> {
  const reader = opts.reader ?? 'auto';
  if (!existsSync(path)) throw new InventoryError(`${path}: no such file or folder`);
  const withAnsible = reader === 'ansible' || (reader === 'auto' && ansibleOnPath());
  if (reader === 'ansible' && !ansibleOnPath())
    throw new InventoryError(`${path}: --inventory-reader ansible, but ansible-inventory is not on PATH`);
  let tree: InventoryTree;
  let limited: { hosts: string[]; unmatched: string[] } | undefined;
  let readerName: string;
  if (withAnsible) {
    const read = await readWithAnsible(path, opts);
    tree = read.tree;
    limited = read.limited;
    const core = /\[core ([^\]]+)\]/.exec(read.version)?.[1];
    readerName = `ansible-inventory${core ? ` (ansible-core ${core})` : ''}`;
  } else {
    if (opts.vaultPasswordFile)
      throw new InventoryError(
        `--vault-password-file needs Ansible to open the vault: install ansible-core (ansible-inventory on PATH)`,
      );
    tree = await readStaticInventory(path);
    limited = opts.limit === undefined ? undefined : limitTree(tree, opts.limit);
    readerName =
      reader === 'built-in' ? 'built-in (--inventory-reader built-in)' : 'built-in (no ansible-inventory on PATH)';
  }
  const base = statSync(path).isDirectory() ? path : dirname(path);
  const kept = limited ? new Set(limited.hosts) : undefined;
  const parents = parentsOf(tree);
  const hosts = [...tree.hostVars]
    .filter(([name]) => !kept || kept.has(name))
    .map(([name, vars]) => toTarget(name, vars, groupsOfHost(tree, name, parents), path, base));
  return { hosts, reader: readerName, unmatched: limited?.unmatched ?? [] };
}

/** --limit over --target hosts, which have names and no groups. */
export function limitTargets(hosts: TargetHost[], pattern: string | undefined): Omit<Inventory, 'reader'> {
  if (pattern === undefined) return { hosts, unmatched: [] };
  const tree = emptyTree();
  for (const h of hosts) {
    tree.hostVars.set(h.target.name, {});
    groupNamed(tree, 'ungrouped').hosts.push(h.target.name);
  }
  groupNamed(tree, 'all').children.push('ungrouped');
  const { hosts: names, unmatched } = limitTree(tree, pattern);
  return { hosts: hosts.filter((h) => names.includes(h.target.name)), unmatched };
}

function toTarget(name: string, vars: Vars, groups: string[], file: string, base: string): TargetHost {
  const where = `${file}: host ${name}`;
  // Ansible's ssh connection takes the last of each pair that is set (ansible_ssh_host over ansible_host)
  const str = (...keys: string[]) => {
    const key = keys.find((k) => vars[k] !== undefined && vars[k] !== null);
    const v = key === undefined ? undefined : vars[key];
    if (v === undefined || v === null) return undefined;
    // a YAML mapping or list where a scalar belongs: shown as one, not as [object Object]
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    if (isTemplate(text))
      throw new InventoryError(
        `${where}: ${key} is a Jinja template (${text}); the built-in reader does not render templates: ` +
          'install ansible-core, whose ansible-inventory reads the inventory and renders them',
      );
    return text;
  };
  const port = str('ansible_ssh_port', 'ansible_port');
  if (port !== undefined && !/^\d+$/.test(port))
    throw new InventoryError(`${where}: ansible_port must be a number, not ${port}`);
  const key = str('ansible_ssh_private_key_file', 'ansible_private_key_file');
  const profile = str('lesson_check_profile');
  return {
    target: {
      name,
      host: str('ansible_ssh_host', 'ansible_host') ?? name,
      user: str('ansible_ssh_user', 'ansible_user'),
      port: port ? Number(port) : undefined,
      identityFile: key && keyPath(key, base),
      ...sshOptionsOf(where, [str('ansible_ssh_common_args'), str('ansible_ssh_extra_args')]),
      become: becomeOf(vars),
    },
    groups,
    // a profile file of ours: beside the inventory, when relative
    profileFile: profile && resolve(base, profile),
  };
}

/**
 * A key file as Ansible hands it to ssh: `~` is the home folder, a relative path is taken from the
 * current folder; one not found there is looked for beside the inventory, as lesson-check did
 * before it read inventories as Ansible does.
 */
function keyPath(key: string, base: string): string {
  const expanded = key === '~' || key.startsWith('~/') ? `${homedir()}${key.slice(1)}` : key;
  if (isAbsolute(expanded)) return expanded;
  const fromHere = resolve(expanded);
  return existsSync(fromHere) ? fromHere : resolve(base, expanded);
}

/** ansible_ssh_common_args and ansible_ssh_extra_args, in that order, split into ssh's words. */
function sshOptionsOf(where: string, values: Array<string | undefined>): Pick<SshTarget, 'sshOptions'> {
  const words = values.flatMap((v) => (v ? splitShellWords(v, `${where}: ssh arguments`) : []));
  return words.length ? { sshOptions: words } : {};
}

/** ansible_become / ansible_become_user as the transport takes them (Ansible's false: no, off, 0, f…). */
function becomeOf(vars: Vars): SshTarget['become'] {
  const become = vars.ansible_become;
  if (become === false || become === 0 || (typeof become === 'string' && /^(false|no|n|off|f|0)$/i.test(become)))
    return false;
  const user = vars.ansible_become_user;
  return typeof user === 'string' && user ? { user } : undefined;
}

/** --shard i/n: every n-th host by name, so that n runners split a class deterministically. */
export function shardHosts(hosts: TargetHost[], shard: string | undefined): TargetHost[] {
  if (!shard) return hosts;
  const m = /^(\d+)\/(\d+)$/.exec(shard);
  const [i, n] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (!m || n < 1 || i < 1 || i > n) throw new InventoryError(`--shard ${shard}: write i/n with 1 ≤ i ≤ n`);
  return [...hosts].sort((a, b) => a.target.name.localeCompare(b.target.name)).filter((_, k) => k % n === i - 1);
}
