/**
 * The built-in reader, for machines without Ansible: static INI and YAML inventories read as
 * Ansible's ini and yaml plugins read them (host ranges, `host:port`, INI values as Python
 * literals, YAML 1.1), plus the `group_vars/` and `host_vars/` folders beside the inventory and in
 * the current folder, layered in Ansible's order. What only Ansible can read — a script, a plugin's
 * configuration, a folder of inventories, anything encrypted with ansible-vault — is refused with
 * a line saying that Ansible is needed.
 */
import { type Stats, existsSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import {
  InventoryError,
  type InventoryTree,
  type Vars,
  addOnce,
  directGroupsOf,
  emptyTree,
  groupNamed,
  parentsOf,
  withAncestors,
} from './tree.ts';
import { splitShellWords } from './shell-words.ts';

type ParseYaml = (text: string, options: { version: '1.1' }) => unknown;

/** What the inventory file itself says, before group_vars and host_vars. */
interface Parsed {
  tree: InventoryTree;
  /** The inventory's own group variables (ansible_group_priority taken out, as Ansible does). */
  groupVars: Map<string, Vars>;
  priority: Map<string, number>;
}

const YAML_EXTENSIONS = ['.yml', '.yaml', '.json'];

/** Reads a static inventory file and the variable folders Ansible would read with it. */
export async function readStaticInventory(path: string): Promise<InventoryTree> {
  const stats = statOf(path);
  if (stats.isDirectory()) throw needsAnsible(path, 'is a folder of inventories');
  if (extname(path) === '.toml') throw needsAnsible(path, 'is a TOML inventory');
  const text = readText(path);
  // Ansible runs an executable file as a script, and reads it as a static file when that fails
  if (stats.mode & 0o111 && text.startsWith('#!')) throw needsAnsible(path, 'is executable: an inventory script');
  if (text.startsWith('$ANSIBLE_VAULT')) throw needsAnsible(path, 'is encrypted with ansible-vault');
  const ext = extname(path).toLowerCase();
  const parseYaml = (await import('yaml')).parse as ParseYaml;
  let parsed: Parsed | undefined;
  // Ansible tries its yaml plugin on .yml, .yaml, .json and files without an extension, then ini
  if (!ext || YAML_EXTENSIONS.includes(ext)) parsed = tryYaml(text, path, parseYaml, !ext);
  parsed ??= parseIni(text, path);
  reconcile(parsed.tree);
  layerVariables(parsed, dirname(path), parseYaml);
  return parsed.tree;
}

function needsAnsible(path: string, why: string): InventoryError {
  return new InventoryError(
    `${path} ${why}; reading it needs Ansible: install ansible-core (ansible-inventory on PATH)`,
  );
}

function statOf(path: string): Stats {
  try {
    return statSync(path);
  } catch (e) {
    throw new InventoryError(`${path}: cannot read inventory: ${(e as Error).message}`);
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new InventoryError(`${path}: cannot read: ${(e as Error).message}`);
  }
}

function yamlDocument(text: string, path: string, parseYaml: ParseYaml): unknown {
  if (/!vault\b/.test(text)) throw needsAnsible(path, 'holds values encrypted with ansible-vault');
  try {
    // PyYAML, which Ansible uses, speaks YAML 1.1: yes/no and on/off are booleans there
    return parseYaml(text, { version: '1.1' });
  } catch (e) {
    const pos = (e as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0];
    throw new InventoryError(`${path}${pos ? `:${pos.line}:${pos.col}` : ''}: ${(e as Error).message.split('\n')[0]}`);
  }
}

const isMapping = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A YAML inventory, or undefined when a file without an extension turns out not to be one. */
function tryYaml(text: string, path: string, parseYaml: ParseYaml, mayBeIni: boolean): Parsed | undefined {
  let doc: unknown;
  try {
    doc = yamlDocument(text, path, parseYaml);
  } catch (e) {
    if (mayBeIni && !/needs Ansible/.test((e as Error).message)) return undefined;
    throw e;
  }
  if (!isMapping(doc)) {
    if (mayBeIni) return undefined;
    throw new InventoryError(`${path}: a YAML inventory is a mapping of groups`);
  }
  if ('plugin' in doc) throw needsAnsible(path, `configures the inventory plugin ${String(doc.plugin)}`);
  const parsed: Parsed = { tree: emptyTree(), groupVars: new Map(), priority: new Map() };
  const parseGroup = (name: string, node: unknown): void => {
    if (node !== null && node !== undefined && !isMapping(node)) return; // Ansible skips it, warning
    groupNamed(parsed.tree, name);
    if (!node) return;
    for (const section of ['vars', 'children', 'hosts'] as const) {
      let entries = node[section];
      if (typeof entries === 'string') entries = { [entries]: null };
      if (entries === null || entries === undefined) continue;
      if (!isMapping(entries)) throw new InventoryError(`${path}: group ${name}: "${section}" must be a mapping`);
      for (const [key, value] of Object.entries(entries)) {
        if (section === 'vars') setGroupVar(parsed, name, key, value, path);
        else if (section === 'children') {
          parseGroup(key, value);
          addChild(parsed.tree, name, key, path);
        } else {
          if (value !== null && !isMapping(value))
            throw new InventoryError(`${path}: host ${key} in group ${name}: its variables must be a mapping`);
          addHosts(parsed.tree, key, name, value ?? {}, path);
        }
      }
    }
  };
  for (const [name, node] of Object.entries(doc)) parseGroup(name, node);
  return parsed;
}

/** An INI inventory, as Ansible's ini plugin reads it. */
function parseIni(text: string, path: string): Parsed {
  const parsed: Parsed = { tree: emptyTree(), groupVars: new Map(), priority: new Map() };
  const tree = parsed.tree;
  // [g:vars] needs g declared somewhere; a child named before its own section is declared later
  const pendingVars = new Map<string, number>();
  const pendingChildren = new Map<string, string[]>();
  let group = 'ungrouped';
  let state = 'hosts';
  text.split(/\r?\n/).forEach((raw, i) => {
    const at = `${path}:${i + 1}`;
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;
    const section = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/.exec(line);
    if (section) {
      group = section[1]!;
      state = section[2] ?? 'hosts';
      if (!['hosts', 'vars', 'children'].includes(state))
        throw new InventoryError(`${at}:1: section [${group}:${state}] has unknown type: ${state}`);
      if (!tree.groups.has(group) && state === 'vars' && !pendingChildren.has(group)) pendingVars.set(group, i + 1);
      groupNamed(tree, group);
      if (state !== 'vars') {
        pendingVars.delete(group);
        for (const parent of pendingChildren.get(group) ?? []) addChild(tree, parent, group, path);
        pendingChildren.delete(group);
      }
      return;
    }
    if (line.startsWith('[') && line.endsWith(']'))
      throw new InventoryError(`${at}:1: invalid section entry: ${line} (no spaces inside the brackets)`);
    if (state === 'hosts') {
      const [pattern, ...pairs] = splitShellWords(line, at, { comments: true });
      const vars: Vars = {};
      for (const pair of pairs) {
        const eq = pair.indexOf('=');
        if (eq < 0)
          throw new InventoryError(
            `${at}:${raw.indexOf(pair) + 1}: expected key=value host variable assignment, found ${pair}`,
          );
        vars[pair.slice(0, eq)] = pythonLiteral(pair.slice(eq + 1));
      }
      addHosts(tree, pattern!, group, vars, at);
    } else if (state === 'vars') {
      const eq = line.indexOf('=');
      if (eq < 0) throw new InventoryError(`${at}:1: expected key=value in [${group}:vars], found ${line}`);
      setGroupVar(parsed, group, line.slice(0, eq).trim(), pythonLiteral(line.slice(eq + 1).trim()), at);
    } else {
      const child = /^([^:\]\s]+)\s*(?:#.*)?$/.exec(line)?.[1];
      if (!child) throw new InventoryError(`${at}:1: expected a group name, found ${line}`);
      if (tree.groups.has(child)) addChild(tree, group, child, path);
      else pendingChildren.set(child, [...(pendingChildren.get(child) ?? []), group]);
    }
  });
  for (const [name, line] of pendingVars)
    throw new InventoryError(`${path}:${line}:1: section [${name}:vars] is for a group declared nowhere`);
  for (const [child, parents] of pendingChildren) {
    groupNamed(tree, child);
    for (const parent of parents) addChild(tree, parent, child, path);
  }
  return parsed;
}

function setGroupVar(parsed: Parsed, group: string, key: string, value: unknown, at: string): void {
  if (key === 'ansible_group_priority') {
    const n = Number(value);
    if (!Number.isInteger(n))
      throw new InventoryError(`${at}: group ${group}: ansible_group_priority must be a number`);
    parsed.priority.set(group, n);
    return;
  }
  parsed.groupVars.set(group, { ...(parsed.groupVars.get(group) ?? {}), [key]: value });
}

function addChild(tree: InventoryTree, parent: string, child: string, at: string): void {
  if (withAncestors([parent], parentsOf(tree)).has(child))
    throw new InventoryError(`${at}: adding group ${child} as a child of ${parent} makes a loop`);
  addOnce(groupNamed(tree, parent).children, child);
}

/** A host line's pattern (`web[01:03].lab:2222`) as hosts of a group, with their own variables. */
function addHosts(tree: InventoryTree, pattern: string, group: string, vars: Vars, at: string): void {
  const { name, port } = splitPort(pattern, at);
  for (const host of expandHostRange(name, at)) {
    const own = { ...(tree.hostVars.get(host) ?? {}), ...(port === undefined ? {} : { ansible_port: port }), ...vars };
    tree.hostVars.set(host, own);
    addOnce(groupNamed(tree, group).hosts, host);
  }
}

/** `name:port`, as Ansible's parse_address takes it (a colon inside a range's brackets is the range's). */
function splitPort(pattern: string, at: string): { name: string; port?: number } {
  if (pattern.endsWith(':')) throw new InventoryError(`${at}: host ${pattern}: a name may not end in ':'`);
  const m = /^((?:[^:[\]]|\[[^\]]*\])+):(\d+)$/.exec(pattern);
  return m ? { name: m[1]!, port: Number(m[2]) } : { name: pattern };
}

/** Ansible's host ranges: `db[1:3]`, `db[01:10:2]`, `[a:c]`, several in one name. */
function expandHostRange(name: string, at: string): string[] {
  const open = name.indexOf('[');
  if (open < 0) return [name];
  const close = name.indexOf(']', open);
  if (close < 0) throw new InventoryError(`${at}: host ${name}: a range opens with [ but never closes`);
  const [head, range, tail] = [name.slice(0, open), name.slice(open + 1, close), name.slice(close + 1)];
  const bounds = range.split(':');
  if (bounds.length !== 2 && bounds.length !== 3)
    throw new InventoryError(`${at}: host ${name}: a range is begin:end or begin:end:step`);
  const [beg = '0', end, stepText = '1'] = bounds.map((b, i) => (i === 0 && !b ? '0' : b));
  if (!end) throw new InventoryError(`${at}: host ${name}: a range needs an end`);
  const step = Number(stepText);
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  let seq: string[];
  if (/^[a-zA-Z]$/.test(beg) && /^[a-zA-Z]$/.test(end)) {
    const [b, e] = [letters.indexOf(beg), letters.indexOf(end)];
    if (b > e) throw new InventoryError(`${at}: host ${name}: a range begins before it ends`);
    seq = [...letters.slice(b, e + 1)].filter((_, k) => k % step === 0);
  } else {
    if (!/^\d+$/.test(beg) || !/^\d+$/.test(end) || !Number.isInteger(step) || step < 1)
      throw new InventoryError(`${at}: host ${name}: a range is of numbers or of letters`);
    const width = beg.length > 1 && beg.startsWith('0') ? beg.length : 0;
    if (width && width !== end.length)
      throw new InventoryError(`${at}: host ${name}: a zero-padded range gives begin and end the same width`);
    seq = [];
    for (let n = Number(beg); n <= Number(end); n += step) seq.push(String(n).padStart(width, '0'));
  }
  return seq.flatMap((s) => expandHostRange(`${head}${s}${tail}`, at));
}

/**
 * An INI value as Ansible's ast.literal_eval takes it: numbers, True/False/None and quoted strings
 * become what they say (a `# comment` after them is dropped); anything else stays the text it is.
 */
function pythonLiteral(text: string): unknown {
  const whole = literal(text);
  if (whole.ok) return whole.value;
  // a Python comment may follow the literal: try the text before each #
  for (let i = text.indexOf('#'); i > 0; i = text.indexOf('#', i + 1)) {
    const before = literal(text.slice(0, i).trimEnd());
    if (before.ok) return before.value;
  }
  return text;
}

function literal(value: string): { ok: true; value: unknown } | { ok: false } {
  if (/^[-+]?(0|[1-9](_?\d)*)$/.test(value)) return { ok: true, value: Number(value.replace(/_/g, '')) };
  if (/^[-+]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][-+]?\d+)$/.test(value)) return { ok: true, value: Number(value) };
  if (value === 'True' || value === 'False') return { ok: true, value: value === 'True' };
  if (value === 'None') return { ok: true, value: null };
  const quoted = /^(['"])((?:\\.|(?!\1)[^\\\n])*)\1$/s.exec(value);
  return quoted ? { ok: true, value: unescapePython(quoted[2]!) } : { ok: false };
}

function unescapePython(s: string): string {
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };
  // an escape Python does not know keeps its backslash, as literal_eval keeps it
  return s.replace(/\\(x[0-9a-fA-F]{2}|.)/gs, (all, e: string) =>
    e.length === 3 ? String.fromCharCode(parseInt(e.slice(1), 16)) : (simple[e] ?? all),
  );
}

/**
 * What Ansible's reconcile does: a group under no other group is a child of `all`, and a host in
 * no group but `all` is in `ungrouped` (and only such a host).
 */
function reconcile(tree: InventoryTree): void {
  const all = groupNamed(tree, 'all');
  const ungrouped = groupNamed(tree, 'ungrouped');
  const parents = parentsOf(tree);
  for (const g of tree.groups.values()) if (g.name !== 'all' && !parents.has(g.name)) addOnce(all.children, g.name);
  for (const host of tree.hostVars.keys()) {
    const others = directGroupsOf(tree, host).filter((g) => g !== 'all' && g !== 'ungrouped');
    if (others.length) ungrouped.hosts = ungrouped.hosts.filter((h) => h !== host);
    else addOnce(ungrouped.hosts, host);
  }
}

/**
 * Each host's variables in Ansible's order, the later winning: `all`'s in the inventory,
 * group_vars/all, the other groups' in the inventory (by depth, ansible_group_priority, name),
 * group_vars/<group>, the host's own in the inventory, host_vars/<host>. The folders are read
 * beside the inventory, then in the current folder (Ansible's playbook folder when there is no
 * playbook).
 */
function layerVariables(parsed: Parsed, inventoryDir: string, parseYaml: ParseYaml): void {
  const { tree, groupVars, priority } = parsed;
  const dirs = [...new Set([inventoryDir, process.cwd()].map((d) => realpathSync(d)))];
  const files = new Map<string, Vars[]>();
  const fromFolders = (kind: 'group_vars' | 'host_vars', name: string): Vars[] => {
    const key = `${kind}/${name}`;
    if (!files.has(key))
      files.set(
        key,
        dirs.flatMap((d) => varsFilesFor(join(d, kind), name, parseYaml)),
      );
    return files.get(key)!;
  };
  const parents = parentsOf(tree);
  const depth = new Map<string, number>();
  const depthOf = (g: string): number => {
    if (g === 'all') return 0;
    if (!depth.has(g)) depth.set(g, 1 + Math.max(0, ...(parents.get(g) ?? ['all']).map(depthOf)));
    return depth.get(g)!;
  };
  for (const [host, own] of tree.hostVars) {
    // every group the host is in counts, `all` apart (its variables come first, above)
    const lineage = withAncestors(directGroupsOf(tree, host), parents);
    lineage.delete('all');
    const sorted = [...lineage].sort(
      (a, b) =>
        depthOf(a) - depthOf(b) || (priority.get(a) ?? 1) - (priority.get(b) ?? 1) || (a < b ? -1 : a > b ? 1 : 0),
    );
    tree.hostVars.set(
      host,
      Object.assign(
        {},
        groupVars.get('all'),
        ...fromFolders('group_vars', 'all'),
        ...sorted.map((g) => groupVars.get(g)),
        // each folder in turn, every group in it (Ansible asks each vars source about all groups)
        ...dirs.flatMap((_, k) => sorted.map((g) => fromFolders('group_vars', g)[k])),
        own,
        ...fromFolders('host_vars', host),
      ) as Vars,
    );
  }
}

/**
 * group_vars/<name> or host_vars/<name>: the first of `<name>`, `<name>.yml`, `.yaml`, `.json`
 * that exists; a folder of that name gives all its files, sorted, hidden ones and backups skipped.
 * Returns one Vars per folder it was asked about, merged over that folder's files.
 */
function varsFilesFor(dir: string, name: string, parseYaml: ParseYaml): Vars[] {
  if (!existsSync(dir)) return [{}];
  const found: string[] = [];
  for (const ext of ['', ...YAML_EXTENSIONS]) {
    const p = join(dir, name + ext);
    if (!existsSync(p)) continue;
    if (statSync(p).isDirectory()) found.push(...filesIn(p));
    else found.push(p);
    break;
  }
  const merged: Vars = {};
  for (const f of found) {
    const text = readText(f);
    if (text.startsWith('$ANSIBLE_VAULT')) throw needsAnsible(f, 'is encrypted with ansible-vault');
    const doc = yamlDocument(text, f, parseYaml);
    if (doc === null || doc === undefined) continue;
    if (!isMapping(doc)) throw new InventoryError(`${f}: variables must be a mapping`);
    Object.assign(merged, doc);
  }
  return [merged];
}

function filesIn(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .filter((n) => !n.startsWith('.') && !n.endsWith('~'))
    .flatMap((n) => {
      const p = join(dir, n);
      const ext = extname(n);
      if (statSync(p).isDirectory()) return ext ? [] : filesIn(p);
      return !ext || YAML_EXTENSIONS.includes(ext) ? [p] : [];
    });
}
