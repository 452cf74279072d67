/**
 * An inventory as Ansible holds it, whichever reader filled it: groups (with `all` and
 * `ungrouped`, in the order they were read), their hosts and children, and each host's
 * variables with Ansible's precedence already applied.
 */
export type Vars = Record<string, unknown>;

export interface Group {
  name: string;
  /** The host names listed in this group itself, in inventory order. */
  hosts: string[];
  children: string[];
}

export interface InventoryTree {
  groups: Map<string, Group>;
  /** Every host's variables, in inventory order. */
  hostVars: Map<string, Vars>;
}

export class InventoryError extends Error {
  override name = 'InventoryError';
}

export function emptyTree(): InventoryTree {
  const tree: InventoryTree = { groups: new Map(), hostVars: new Map() };
  groupNamed(tree, 'all');
  groupNamed(tree, 'ungrouped');
  return tree;
}

export function groupNamed(tree: InventoryTree, name: string): Group {
  let g = tree.groups.get(name);
  if (!g) tree.groups.set(name, (g = { name, hosts: [], children: [] }));
  return g;
}

export function addOnce(list: string[], item: string): void {
  if (!list.includes(item)) list.push(item);
}

/** Each group's parents, read off the children lists. */
export function parentsOf(tree: InventoryTree): Map<string, string[]> {
  const parents = new Map<string, string[]>();
  for (const g of tree.groups.values()) for (const c of g.children) parents.set(c, [...(parents.get(c) ?? []), g.name]);
  return parents;
}

/**
 * The groups a host is in, as Ansible counts them: those listing it and all their ancestors,
 * without `all` and `ungrouped` (every host is in `all`; `ungrouped` only says it is in no other).
 */
export function groupsOfHost(tree: InventoryTree, host: string, parents = parentsOf(tree)): string[] {
  const found = withAncestors(directGroupsOf(tree, host), parents);
  found.delete('all');
  found.delete('ungrouped');
  return [...found];
}

/** The groups that list a host themselves. */
export function directGroupsOf(tree: InventoryTree, host: string): string[] {
  return [...tree.groups.values()].filter((g) => g.hosts.includes(host)).map((g) => g.name);
}

/** These groups and all their ancestors. */
export function withAncestors(groups: string[], parents: Map<string, string[]>): Set<string> {
  const found = new Set<string>();
  const climb = (g: string) => {
    if (found.has(g)) return;
    found.add(g);
    for (const p of parents.get(g) ?? []) climb(p);
  };
  groups.forEach(climb);
  return found;
}

/**
 * A group's hosts as Ansible enumerates them for a pattern: its own first, then its children's,
 * then their children's (breadth first), each once.
 */
export function hostsOfGroup(tree: InventoryTree, name: string): string[] {
  const hosts: string[] = [];
  const seen = new Set<string>();
  for (let level = [name]; level.length;) {
    const next: string[] = [];
    for (const g of level) {
      if (seen.has(g)) continue;
      seen.add(g);
      const group = tree.groups.get(g);
      for (const h of group?.hosts ?? []) addOnce(hosts, h);
      next.push(...(group?.children ?? []));
    }
    level = next;
  }
  return hosts;
}

/** The variables lesson-check honours: toTarget reads them, the Ansible reader renders their templates. */
export const HONOURED_VARS = [
  'ansible_host',
  'ansible_ssh_host',
  'ansible_user',
  'ansible_ssh_user',
  'ansible_port',
  'ansible_ssh_port',
  'ansible_ssh_private_key_file',
  'ansible_private_key_file',
  'ansible_ssh_common_args',
  'ansible_ssh_extra_args',
  'ansible_become',
  'ansible_become_user',
  'lesson_check_profile',
] as const;

/** A Jinja template, which Ansible renders when it uses the value. */
export function isTemplate(value: unknown): boolean {
  return typeof value === 'string' && /\{\{|\{%/.test(value);
}
