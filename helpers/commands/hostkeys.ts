/**
 * `lesson-check hostkeys`: a class's SSH host keys, learnt before its first grade. In BatchMode
 * ssh never asks whether to trust a key it does not know, so 30 fresh VMs are 30 unreachable
 * hosts until known_hosts holds their keys. Each host is looked up as grade would reach it (`ssh
 * -G` with the inventory's options: its HostName, Port, HostKeyAlias, any jump host), scanned
 * with ssh-keyscan (a few at once), its known_hosts lines printed on stdout and its keys'
 * fingerprints on stderr, for the teacher to compare with the VMs' consoles. What a host answers
 * is host input: only well-formed key lines of the host asked are printed.
 * Exit codes: 0 every host answered, 1 some did not (or sit behind a jump host), 2 usage or
 * inventory errors, 128 + the signal's number when ended by one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clip, visibleLine } from '../host/host-text.ts';
import type { TargetHost } from '../inventory/inventory.ts';
import { trapSignals } from '../run/signals.ts';
import { SshTransport } from '../host/ssh.ts';
import { type CommandResult, LocalTransport, describeResult } from '../host/transport.ts';
import { FLEET, classHosts } from './fleet.ts';
import { UsageError, noPositionals, parseOptions } from './options.ts';
import { ENV, declareCommand } from './usage.ts';

export const HOSTKEYS_COMMAND = declareCommand({
  name: 'hostkeys',
  synopsis: [
    'hostkeys --inventory PATH [--limit PATTERN] [--inventory-reader R] [--vault-password-file FILE]',
    'hostkeys --target ssh://[user@]host[:port] …',
  ],
  about:
    "The SSH host keys of a class's hosts, for known_hosts, before its first grade: ssh in BatchMode (grade, " +
    'verify) never asks whether to trust a new host key, so a host whose key is not there yet is unreachable. ' +
    'Each host is looked up as grade reaches it (ssh -G: HostName, Port, HostKeyAlias) and scanned ' +
    '(ssh-keyscan); one behind a ProxyJump or ProxyCommand is not (scan it from the jump host).',
  options: {
    inventory: FLEET.inventory,
    limit: FLEET.limit,
    'inventory-reader': FLEET['inventory-reader'],
    'vault-password-file': FLEET['vault-password-file'],
    target: FLEET.target,
  },
  writes:
    'stdout: the known_hosts lines, `lesson-check hostkeys --inventory class.ini >> ~/.ssh/known_hosts`; ' +
    "stderr: each host's SHA256 fingerprints, to compare with its console " +
    '(`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`) before trusting them, and each host that did not answer',
  exits:
    '0 every host answered, 1 some did not (or sit behind a jump host), 2 usage or inventory error, ' +
    '128+N ended by signal N',
  env: [ENV.ssh],
});

/** Hosts scanned at once: ssh-keyscan waits up to SCAN_TIMEOUT_S for each. */
const SCANS_AT_ONCE = 8;
/** ssh-keyscan -T: seconds to wait for a host; a VM that is up answers in milliseconds. */
const SCAN_TIMEOUT_S = 5;

/** Where ssh connects for a target, from `ssh -G`. */
interface SshAddress {
  hostname: string;
  port: number;
  /** HostKeyAlias: the name known_hosts holds the key under instead of HostName (and Port). */
  alias?: string;
  /** "ProxyJump grader@bastion": the target is reached through another host. */
  proxy?: string;
}

type Scan =
  | { host: TargetHost; address: SshAddress; lines: string[]; fingerprints: string[]; ignored: string[] }
  | { host: TargetHost; address?: SshAddress; problem: string };

export async function hostkeysCommand(args: string[]): Promise<number> {
  const { values: opts, positionals } = parseOptions(HOSTKEYS_COMMAND, args);
  noPositionals('hostkeys', positionals);
  if (!opts.target.length && !opts.inventory)
    throw new UsageError('hostkeys needs the hosts of a class: --inventory PATH or --target URL');
  const { hosts, inventory } = await classHosts(opts);
  if (!hosts.length) throw new UsageError(`no hosts to scan${opts.limit ? ` (after --limit ${opts.limit})` : ''}`);
  if (inventory) console.error(visibleLine(`lesson-check: ${inventory}`));

  const stop = new AbortController();
  const signals = trapSignals((sig) => {
    console.error(`\nlesson-check: ${sig} received: stopping the scans`);
    stop.abort();
  });
  try {
    const local = new LocalTransport();
    const sshArgs = clientArgs(hosts);
    const scans = atMost(hosts, SCANS_AT_ONCE, (h, i) => scanHost(local, h, sshArgs[i]!, stop.signal));
    const printed = new Set<string>();
    let missed = 0;
    // in the inventory's order, each host as soon as it and those before it are done
    for (const pending of scans) {
      const scan = await pending;
      if (signals.signalled()) return signals.exitCode();
      const who = `${scan.host.target.name}${scan.address ? ` (${where(scan.address)})` : ''}`;
      if ('problem' in scan) {
        missed++;
        console.error(visibleLine(`lesson-check: ${who}: ${scan.problem}`));
        continue;
      }
      for (const line of scan.lines.filter((l) => !printed.has(l))) {
        printed.add(line);
        process.stdout.write(`${line}\n`);
      }
      for (const f of scan.fingerprints) console.error(visibleLine(`${who}: ${f}`));
      if (scan.ignored.length)
        console.error(
          visibleLine(
            `lesson-check: ${who}: ${scan.ignored.length} line(s) of its answer are not host keys, left out: ` +
              clip(scan.ignored[0]!, 120),
          ),
        );
    }
    const answered = hosts.length - missed;
    console.error(
      `lesson-check: the host keys of ${answered} of ${hosts.length} host${hosts.length === 1 ? '' : 's'}` +
        (answered ? ': compare the fingerprints with each VM before trusting them' : ''),
    );
    return missed ? 1 : 0;
  } finally {
    signals.release();
  }
}

/** Each host's ssh client options as grade would pass them (SshTransport's own, for `ssh -G`). */
function clientArgs(hosts: TargetHost[]): string[][] {
  // SshTransport makes its connection folder: one for all, gone before any command runs
  const controlDir = mkdtempSync(join(tmpdir(), 'lc-hostkeys-'));
  try {
    return hosts.map((h) => new SshTransport(h.target, controlDir).sshArgs());
  } finally {
    rmSync(controlDir, { recursive: true, force: true });
  }
}

/** `host port 22`, or with a HostKeyAlias `host port 2222, key alias lab-1`. */
function where(a: SshAddress): string {
  return `${a.hostname} port ${a.port}${a.alias ? `, key alias ${a.alias}` : ''}`;
}

/** `work` over `items`, `n` at a time; the results in the items' order. */
function atMost<T, R>(items: T[], n: number, work: (item: T, index: number) => Promise<R>): Array<Promise<R>> {
  const settle: Array<(r: Promise<R>) => void> = [];
  const results = items.map(() => new Promise<R>((done) => settle.push(done)));
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      const result = work(items[i]!, i);
      settle[i]!(result);
      await result.catch(() => undefined);
    }
  };
  for (let k = 0; k < Math.min(n, items.length); k++) void worker();
  return results;
}

async function scanHost(
  local: LocalTransport,
  host: TargetHost,
  sshArgs: string[],
  signal: AbortSignal,
): Promise<Scan> {
  const config = await local.run(['ssh', ...sshArgs, '-G', '--', host.target.host], { timeoutMs: 10_000, signal });
  if (config.exitCode !== 0) return { host, problem: `ssh -G could not read its ssh options: ${failure(config)}` };
  const address = sshAddress(config.stdout);
  if (typeof address === 'string') return { host, problem: address };
  if (address.proxy)
    return {
      host,
      address,
      problem:
        `not scanned: it is reached through ${address.proxy}, and ssh-keyscan connects directly; ` +
        `scan it from there (ssh-keyscan -p ${address.port} ${address.hostname})`,
    };
  const r = await local.run(
    ['ssh-keyscan', '-T', String(SCAN_TIMEOUT_S), '-p', String(address.port), '--', address.hostname],
    { timeoutMs: (SCAN_TIMEOUT_S + 10) * 1000, signal },
  );
  // ssh-keyscan names the host as ssh looks it up: `host` on port 22, else `[host]:port`
  const asked = address.port === 22 ? address.hostname : `[${address.hostname}]:${address.port}`;
  const said = r.stdout.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  const keys = said.filter((l) => isHostKeyLine(l, asked));
  if (!keys.length)
    return {
      host,
      address,
      problem: said.length
        ? `answered, but with no host key (${said.length} line(s) that are not): ${clip(said[0]!, 120)}`
        : `did not answer (${failure(r)})`,
    };
  // known_hosts keeps the key under the alias, when there is one (without the port)
  const lines = keys.map((l) => (address.alias ? `${address.alias}${l.slice(asked.length)}` : l));
  const fingerprints = await fingerprintsOf(local, lines, signal);
  return { host, address, lines, fingerprints, ignored: said.filter((l) => !keys.includes(l)) };
}

/** `ssh -G`'s answer: where ssh would connect, or why it cannot be scanned. */
function sshAddress(config: string): SshAddress | string {
  const option = (name: string) => {
    const value = new RegExp(`^${name} (.+)$`, 'm').exec(config)?.[1]?.trim();
    return value && value.toLowerCase() !== 'none' ? value : undefined;
  };
  const hostname = option('hostname');
  const port = Number(option('port') ?? '22');
  // ssh-keyscan takes a name or an address, as one word that is not an option
  if (!hostname || !/^[\w.:%-]+$/.test(hostname) || hostname.startsWith('-'))
    return `its HostName is not a host name ssh-keyscan can take: ${hostname ?? '(none)'}`;
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `its Port is not a port: ${option('port')}`;
  const jump = option('proxyjump');
  const command = option('proxycommand');
  const alias = option('hostkeyalias');
  return {
    hostname,
    port,
    ...(alias && /^[^\s#,*?!]+$/.test(alias) ? { alias } : {}),
    ...(jump ? { proxy: `ProxyJump ${jump}` } : command ? { proxy: `ProxyCommand ${command}` } : {}),
  };
}

/**
 * `[host]:port ssh-ed25519 AAAA…`: a known_hosts line for the host asked, whose key is base64 of
 * an SSH key blob of the type the line names (the blob starts with its own type's name).
 */
function isHostKeyLine(line: string, asked: string): boolean {
  const m = /^(\S+) ([a-z0-9][a-z0-9@.-]{0,63}) ([A-Za-z0-9+/]+={0,2})$/.exec(line);
  if (!m || m[1]!.toLowerCase() !== asked.toLowerCase()) return false;
  const blob = Buffer.from(m[3]!, 'base64');
  // Buffer.from skips what is not base64: the text must be exactly the blob's encoding
  if (blob.toString('base64') !== m[3] || blob.length < 4) return false;
  const typeLength = blob.readUInt32BE(0);
  return 4 + typeLength < blob.length && blob.subarray(4, 4 + typeLength).toString('latin1') === m[2];
}

/** `ED25519 SHA256:…` for each line, from `ssh-keygen -lf -`. */
async function fingerprintsOf(local: LocalTransport, lines: string[], signal: AbortSignal): Promise<string[]> {
  const r = await local.run(['ssh-keygen', '-lf', '-'], { input: `${lines.join('\n')}\n`, timeoutMs: 10_000, signal });
  if (r.exitCode !== 0) return [`(no fingerprints: ssh-keygen -lf: ${failure(r)})`];
  // `256 SHA256:OM/3… [127.0.0.1]:2222 (ED25519)`
  return r.stdout
    .split('\n')
    .map((l) => /^\d+ (SHA256:[A-Za-z0-9+/=]+) .*\(([A-Z0-9-]+)\)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[2]} ${m[1]}`);
}

/** How a command ended, and the first line it said (ssh-keyscan is silent on a refused port). */
function failure(r: CommandResult): string {
  const said = r.stderr
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith('#'));
  return `${describeResult(r)}${said ? `: ${clip(said, 200)}` : ''}`;
}
