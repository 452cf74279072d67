/**
 * Reading an inventory through Ansible itself: `ansible-inventory --list` gives the groups and
 * every host's variables with Ansible's own precedence (scripts, inventory plugins, folders,
 * group_vars and host_vars, vaulted files all as Ansible reads them), `ansible --list-hosts`
 * applies --limit with Ansible's own patterns, `ansible-vault decrypt` opens the honoured values
 * that ansible-inventory leaves encrypted (`!vault`), their clear text never on disk, and Ansible's
 * debug action renders the honoured variables that are Jinja templates
 * (`ansible_host: "{{ inventory_hostname }}.lab"`), locally, connecting to nothing. The user's
 * ansible.cfg applies as it always does.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CommandResult, LocalTransport, describeResult } from '../host/transport.ts';
import {
  HONOURED_VARS,
  InventoryError,
  type InventoryTree,
  type Vars,
  addOnce,
  emptyTree,
  groupNamed,
  isTemplate,
} from './tree.ts';

export interface AnsibleOptions {
  limit?: string;
  vaultPasswordFile?: string;
}

export interface AnsibleInventory {
  tree: InventoryTree;
  /** `ansible-inventory [core 2.14.18]` */
  version: string;
  /** The hosts --limit left, in Ansible's words; undefined without --limit. */
  limited?: { hosts: string[]; unmatched: string[] };
}

/** Scripts and cloud plugins may take a while; a hung one must not hang the run. */
const TIMEOUT_MS = 300_000;

/** Whether ansible-inventory is on PATH. */
export function ansibleOnPath(): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, 'ansible-inventory')));
}

export async function readWithAnsible(path: string, opts: AnsibleOptions): Promise<AnsibleInventory> {
  const temp = mkdtempSync(join(tmpdir(), 'lesson-check-ansible-'));
  const ownHome = !existsSync(join(homedir(), '.ansible'));
  const env = {
    // Ansible's own temp files in ours, removed with it; colours and wrapped warnings off
    ANSIBLE_LOCAL_TEMP: join(temp, 'tmp'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    // a pattern that matches nothing is a warning we turn into an error, whatever ansible.cfg says
    ANSIBLE_HOST_PATTERN_MISMATCH: 'warning',
    // a file of a folder inventory that no plugin could read is an error, not a warning
    ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED: 'true',
  };
  const vault = opts.vaultPasswordFile ? ['--vault-password-file', opts.vaultPasswordFile] : [];
  const local = new LocalTransport();
  // what Ansible prints holds the vaults' clear text: --verbose shows its commands, not their output
  const run = (argv: string[], more: Record<string, string> = {}) =>
    local.run(argv, { env: { ...env, ...more }, timeoutMs: TIMEOUT_MS, secret: true });
  try {
    const [list, version, limited] = await Promise.all([
      run(['ansible-inventory', '-i', path, '--list', ...vault]),
      run(['ansible-inventory', '--version']),
      opts.limit === undefined
        ? undefined
        : run(['ansible', 'all', '-i', path, '--list-hosts', '--limit', opts.limit, ...vault]),
    ]);
    if (list.exitCode !== 0) throw new InventoryError(`${path}: ${ansibleError(list)}`);
    let doc: unknown;
    try {
      doc = JSON.parse(list.stdout);
    } catch (e) {
      throw new InventoryError(`${path}: ansible-inventory --list printed no JSON: ${(e as Error).message}`);
    }
    const tree = treeOf(doc);
    await decryptVaulted(tree, vault, temp, run);
    await renderTemplates(tree, path, vault, run);
    return {
      tree,
      version: version.stdout.split('\n')[0]!.trim(),
      limited: limited && listedHosts(limited, opts.limit!),
    };
  } finally {
    rmSync(temp, { recursive: true, force: true });
    // Ansible makes ~/.ansible even when it has nothing to keep there; leave no folder it made empty
    if (ownHome) removeIfEmpty(join(homedir(), '.ansible'));
  }
}

function removeIfEmpty(dir: string): void {
  try {
    for (const entry of readdirSync(dir)) removeIfEmpty(join(dir, entry));
    rmdirSync(dir);
  } catch {
    // not there, not empty or not a folder: it stays
  }
}

/**
 * Ansible's own words for a failure, on one line: the first "Failed to parse … with … plugin"
 * (the plugin that understood the file best comes first), else its ERROR, else the last lines.
 */
function ansibleError(r: CommandResult): string {
  if (r.spawnError) return `ansible-inventory could not start: ${r.spawnError}`;
  if (r.timedOut) return `ansible-inventory did not answer in ${r.timeoutMs / 1000} s`;
  const messages = ansibleMessages(r.stderr);
  const parse = messages.find((m) => /^\[WARNING\]:\s+\* Failed to parse /.test(m));
  const error = messages.find((m) => m.startsWith('ERROR!'));
  const why = parse?.replace(/^\[WARNING\]:\s+\*\s*/, '') ?? error ?? (messages.at(-1) || `exit ${r.exitCode}`);
  return `ansible-inventory could not read it: ${why}`;
}

/** Ansible's stderr as messages: it wraps each at 80 columns, a new one starts with [X]: or ERROR!. */
function ansibleMessages(stderr: string): string[] {
  const messages: string[] = [];
  for (const line of stderr.split('\n')) {
    if (/^(\[[A-Z ]+\]:|ERROR!)/.test(line) || !messages.length) messages.push(line.trim());
    else if (line.trim()) messages[messages.length - 1] += ` ${line.trim()}`;
  }
  return messages.filter(Boolean);
}

/** `ansible-inventory --list`: groups as `{hosts, children}`, variables in `_meta.hostvars`. */
function treeOf(doc: unknown): InventoryTree {
  const tree = emptyTree();
  if (typeof doc !== 'object' || doc === null) return tree;
  const { _meta, ...groups } = doc as Record<string, { hosts?: string[]; children?: string[] }> & {
    _meta?: { hostvars?: Record<string, Vars> };
  };
  for (const [name, g] of Object.entries(groups)) {
    const group = groupNamed(tree, name);
    for (const h of g.hosts ?? []) {
      addOnce(group.hosts, h);
      if (!tree.hostVars.has(h)) tree.hostVars.set(h, {});
    }
    for (const c of g.children ?? []) {
      addOnce(group.children, c);
      groupNamed(tree, c);
    }
  }
  for (const [h, vars] of Object.entries(_meta?.hostvars ?? {})) tree.hostVars.set(h, vars);
  return tree;
}

/** Vaulted values opened at once: each is one ansible-vault process (about half a second). */
const DECRYPTS_AT_ONCE = 4;

/**
 * ansible-inventory prints an inline-vaulted value as `{"__ansible_vault": "<ciphertext>"}`. Only
 * the honoured variables are opened: the others (a become password, an API token) are none of
 * lesson-check's business and stay sealed. Each distinct ciphertext is written to our private
 * folder and opened by `ansible-vault decrypt --output -`, with the same vault password file (or
 * what ansible.cfg names): the clear text comes back through a pipe and is never on disk, so a
 * killed run leaves none behind. (The ciphertext is not fed on stdin: with no password given,
 * ansible-vault prompts there, and would read the ciphertext as the password.)
 */
async function decryptVaulted(
  tree: InventoryTree,
  vault: string[],
  temp: string,
  run: (argv: string[]) => Promise<CommandResult>,
): Promise<void> {
  // a group's variable is printed once per host: the same ciphertext, opened once
  const sealed = new Map<string, Array<{ vars: Vars; key: string }>>();
  for (const vars of tree.hostVars.values())
    for (const key of HONOURED_VARS) {
      const cipher = (vars[key] as { __ansible_vault?: unknown } | null | undefined)?.__ansible_vault;
      if (typeof cipher !== 'string') continue;
      sealed.set(cipher, [...(sealed.get(cipher) ?? []), { vars, key }]);
    }
  const ciphers = [...sealed.keys()];
  const failed: Array<{ keys: string[]; why: string }> = [];
  for (let i = 0; i < ciphers.length; i += DECRYPTS_AT_ONCE)
    await Promise.all(
      ciphers.slice(i, i + DECRYPTS_AT_ONCE).map(async (cipher, j) => {
        const uses = sealed.get(cipher)!;
        const file = join(temp, `sealed-${i + j}`);
        writeFileSync(file, cipher, { mode: 0o600 });
        const r = await run(['ansible-vault', 'decrypt', ...vault, '--output', '-', file]);
        if (r.exitCode === 0) for (const u of uses) u.vars[u.key] = r.stdout;
        else
          failed.push({
            keys: uses.map((u) => u.key),
            // "… on <file> for <file>": our temp file's name says nothing to the teacher
            why: (ansibleMessages(r.stderr).find((m) => m.startsWith('ERROR!')) ?? describeResult(r)).replace(
              ` on ${file} for ${file}`,
              '',
            ),
          });
      }),
    );
  if (!failed.length) return;
  const keys = failed.flatMap((f) => f.keys).filter((k, i, all) => all.indexOf(k) === i);
  throw new InventoryError(
    `${keys.join(', ')} is encrypted and ansible-vault could not open it ` +
      `(${failed[0]!.why.replace(/ for \S+$/, '')}): give --vault-password-file`,
  );
}

/**
 * ansible-inventory prints variables as written; Ansible renders templates when it connects. For
 * the hosts whose honoured variables are templates, one `ansible -m debug` (an action that runs
 * here and connects to no host) renders them all, and the rendered values replace the templates.
 */
async function renderTemplates(
  tree: InventoryTree,
  path: string,
  vault: string[],
  run: (argv: string[], env?: Record<string, string>) => Promise<CommandResult>,
): Promise<void> {
  const hosts = [...tree.hostVars].filter(([, vars]) => HONOURED_VARS.some((k) => isTemplate(vars[k])));
  if (!hosts.length) return;
  const expression = `{{ { ${HONOURED_VARS.map((k) => `'${k}': ${k} | default(none)`).join(', ')} } }}`;
  const r = await run(
    [
      'ansible',
      'all',
      '-i',
      path,
      '--limit',
      hosts.map(([h]) => h).join(','),
      '-m',
      'debug',
      '-a',
      `msg=${expression}`,
      ...vault,
    ],
    { ANSIBLE_STDOUT_CALLBACK: 'oneline', ANSIBLE_LOAD_CALLBACK_PLUGINS: '1' },
  );
  // one line per host: `lab-1 | SUCCESS => {"changed": false, "msg": {…}}`, or FAILED! with Ansible's msg
  const said = new Map<string, { ok: boolean; msg: unknown }>();
  for (const line of r.stdout.split('\n')) {
    const m = /^(\S+) \| (SUCCESS|FAILED!) => (\{.*\})\s*$/.exec(line);
    if (!m) continue;
    try {
      said.set(m[1]!, { ok: m[2] === 'SUCCESS', msg: (JSON.parse(m[3]!) as { msg?: unknown }).msg });
    } catch {
      // not Ansible's JSON: the host is reported below as not rendered
    }
  }
  for (const [host, vars] of hosts) {
    const out = said.get(host);
    if (!out?.ok || typeof out.msg !== 'object' || out.msg === null) {
      const why = typeof out?.msg === 'string' ? out.msg : (ansibleMessages(r.stderr).at(-1) ?? `exit ${r.exitCode}`);
      throw new InventoryError(`${path}: host ${host}: Ansible could not render its variables: ${why}`);
    }
    const rendered = out.msg as Vars;
    for (const k of HONOURED_VARS) if (isTemplate(vars[k])) vars[k] = rendered[k];
  }
}

/** `ansible all --list-hosts --limit P`: the hosts, and the parts Ansible warned it could not match. */
function listedHosts(r: CommandResult, limit: string): { hosts: string[]; unmatched: string[] } {
  const messages = ansibleMessages(r.stderr);
  const unmatched = messages
    .map((m) => /Could not match supplied host pattern, ignoring: (.*)$/.exec(m)?.[1])
    .filter((p): p is string => p !== undefined);
  if (r.exitCode !== 0) {
    // nothing left after --limit is Ansible's error, and our "no hosts to check"
    if (messages.some((m) => /leaves us with no hosts/.test(m))) return { hosts: [], unmatched };
    const error = messages.find((m) => m.startsWith('ERROR!')) ?? `exit ${r.exitCode}`;
    throw new InventoryError(`--limit ${limit}: ${error}`);
  }
  const hosts = r.stdout
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter(Boolean);
  return { hosts, unmatched };
}
