/**
 * Ansible's host patterns, for --limit when Ansible is not there to apply them itself: parts apart
 * at `,` (or `:` outside brackets), `*`/`?`/`[…]` globs and `~regex` over group and host names,
 * `group[0]`, `group[1:3]` (inclusive) subscripts, `&` to intersect, `!` to exclude, `@file` for a
 * file of patterns. Evaluated as Ansible's inventory manager does: the plain parts in order, then
 * the intersections, then the exclusions. A part that matches nothing is reported, not ignored: a
 * grader's typo should not silently grade the wrong hosts.
 */
import { readFileSync } from 'node:fs';
import { InventoryError, type InventoryTree, hostsOfGroup } from './tree.ts';

export interface Limited {
  hosts: string[];
  /** The parts of the pattern that matched no group and no host. */
  unmatched: string[];
}

/** Ansible's split_host_pattern, with `@file` parts read as Ansible's --limit reads them. */
function splitHostPattern(pattern: string): string[] {
  const parts = pattern.includes(',') ? pattern.split(',') : (pattern.match(/(?:[^\s:[\]]|\[[^\]]*\])+/g) ?? []);
  return parts
    .map((p) => p.trim())
    .filter(Boolean)
    .flatMap((p) => (p.startsWith('@') ? patternsInFile(p.slice(1)) : [p]));
}

function patternsInFile(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  } catch (e) {
    throw new InventoryError(`--limit @${file}: ${(e as Error).message}`);
  }
}

export function limitTree(tree: InventoryTree, pattern: string): Limited {
  const parts = splitHostPattern(pattern);
  const regular = parts.filter((p) => !p.startsWith('!') && !p.startsWith('&'));
  const ordered = [
    ...(regular.length ? regular : ['all']),
    ...parts.filter((p) => p.startsWith('&')),
    ...parts.filter((p) => p.startsWith('!')),
  ];
  let hosts: string[] = [];
  const unmatched: string[] = [];
  for (const part of ordered) {
    const bare = part.replace(/^[&!]/, '');
    const that = tree.hostVars.has(part) ? [part] : matchOne(tree, bare);
    if (that === undefined) unmatched.push(bare);
    const those = new Set(that ?? []);
    if (part.startsWith('!')) hosts = hosts.filter((h) => !those.has(h));
    else if (part.startsWith('&')) hosts = hosts.filter((h) => those.has(h));
    else hosts.push(...[...those].filter((h) => !hosts.includes(h)));
  }
  return { hosts, unmatched };
}

/** The hosts one part names, or undefined when it names no group and no host. */
function matchOne(tree: InventoryTree, part: string): string[] | undefined {
  const sub = part.startsWith('~') ? null : /^(.+)\[(?:(-?\d+)|(\d+)[:-](\d+)?)\]$/.exec(part);
  const expr = sub ? sub[1]! : part;
  const test = matcher(expr);
  const groups = [...tree.groups.keys()].filter(test);
  const hosts = groups.flatMap((g) => hostsOfGroup(tree, g));
  // hosts are matched by name too when no group matched, or when the part is a glob or regex
  if (!groups.length || expr.startsWith('~') || /[.?*[]/.test(expr))
    hosts.push(...[...tree.hostVars.keys()].filter(test));
  if (!groups.length && !hosts.length) return undefined;
  if (!sub) return hosts;
  const [index, start, end] = [sub[2], sub[3], sub[4]];
  if (index !== undefined) {
    const i = Number(index);
    const one = hosts.at(i);
    if (one === undefined || i >= hosts.length || -i > hosts.length)
      throw new InventoryError(`--limit ${part}: no host at that index (${hosts.length} matched ${expr})`);
    return [one];
  }
  const last = end === undefined || Number(end) === 0 ? undefined : Number(end);
  if (last === undefined && end !== undefined) return hosts.slice(Number(start), Number(start) + 1);
  return hosts.slice(Number(start), last === undefined ? hosts.length : last + 1);
}

/** fnmatch (`*`, `?`, `[seq]`, `[!seq]`, whole name, case-sensitive) or, after `~`, a regex from the start. */
function matcher(expr: string): (name: string) => boolean {
  if (expr.startsWith('~')) {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${expr.slice(1)})`);
    } catch {
      throw new InventoryError(`--limit ${expr}: not a regular expression`);
    }
    return (name) => re.test(name);
  }
  let source = '';
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i]!;
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else if (ch === '[' && expr.indexOf(']', i + 2) > 0) {
      const close = expr.indexOf(']', i + (expr[i + 1] === '!' ? 3 : 2));
      let set = expr.slice(i + 1, close).replace(/\\/g, '\\\\');
      if (set.startsWith('!')) set = `^${set.slice(1)}`;
      source += `[${set}]`;
      i = close;
    } else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  const re = new RegExp(`^(?:${source})$`, 's');
  return (name) => re.test(name);
}
