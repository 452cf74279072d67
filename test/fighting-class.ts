/**
 * A class that fights back, for the hostile-class test: each host a "host" of its own on this
 * machine (an sshd in a mount namespace of its own, with its own /run/lesson-check), one kept lab
 * behind all of them. Hostile hosts attack lesson-check's own traces there, not its text: junk
 * in its run records (every shape, one naming the grader's machine, 10⁵ files), and a `ctr` that
 * answers the sweep's lists with 10⁵ names made from the run ids it finds in the records. The
 * grader's ssh_config asks for agent forwarding and sends every variable; the hostile hosts'
 * sshd accepts both, and logs every session's environment.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadProfile } from '../helpers/profile.ts';
import { type Sshd, startSshd } from './sshd.ts';

export type Fight = 'honest' | 'junk-records' | 'flood-lists';

export const FIGHTING_CLASS: Array<{ name: string; does: Fight }> = [
  { name: 'honest-1', does: 'honest' },
  { name: 'honest-2', does: 'honest' },
  { name: 'honest-3', does: 'honest' },
  { name: 'junk-records', does: 'junk-records' },
  { name: 'flood-lists', does: 'flood-lists' },
];

export interface FightingClass {
  dir: string;
  /** The class as an INI inventory, and its honest hosts alone. */
  inventory: string;
  honestInventory: string;
  /** The grader's ssh_config: ForwardAgent yes, SendEnv *, every sshd's host key known. */
  sshConfig: string;
  /** Every environment a hostile host's sessions had, one `env` after another. */
  envLog: string;
  /** One line per call of the dead record's `ctr` (0000bb's, on junk-records) and of flood-lists'. */
  deadRecordCtrLog: string;
  floodCtrLog: string;
  /** ssh to a host of the class, as root: argv for a command there (not through lesson-check;
   * run it with PATH alone, or the grader's `SendEnv *` sends the test's whole environment). */
  sshTo(does: Fight, command: string): string[];
  stop(): Promise<void>;
}

/** 10⁵ lines, the most any list of the class prints. */
const FLOOD = 100_000;

/** A record of the shape lesson-check writes, for `runId`, from the grader's machine, by a PID
 * that is no longer alive there. */
function deadRecord(runId: string, paths: Record<string, string>, prefix: string): string {
  const record = { runId, mode: 'grade', origin: hostname(), pid: 4_194_000, pidStart: '1' };
  return JSON.stringify({ ...record, startedAt: new Date().toISOString(), paths, prefix });
}

export async function fightingClass(labProfile: string): Promise<FightingClass> {
  const dir = mkdtempSync(join(tmpdir(), 'lc-fighting-'));
  const lab = loadProfile(labProfile);
  const script = (name: string, body: string) => {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  };
  const envLog = join(dir, 'sessions.env');
  const deadRecordCtrLog = join(dir, 'dead-record-ctr.log');
  const floodCtrLog = join(dir, 'flood-ctr.log');
  // every session of a hostile host: its environment logged, then the command as asked
  const spy = script('spy-login', `{ env; echo ---; } >> ${envLog}\nexec sh -c "$SSH_ORIGINAL_COMMAND"`);
  // a ctr whose lists end in floods: 10⁵ namespaces for each run id its host's records name, 10⁵
  // containers, images and leases in any namespace, after what the lab's own ctr lists (a flood
  // before it would hide lesson-check's own namespace from the sweep: on a host of its own, that
  // is its student's loss alone, the record stays and each later run tries again, as bounded);
  // anything else is the lab's ctr
  const flooding = (log: string, ids: string) =>
    script(
      `ctr-flood-${log.endsWith('flood-ctr.log') ? 'lists' : 'dead'}`,
      [
        `echo "$*" >> ${log}`,
        'case "$*" in',
        `  *"namespaces ls"*) ${lab.paths.ctr} "$@"; for id in ${ids}; do seq ${FLOOD} | sed "s/^/lc-$id-/"; done ;;`,
        `  *"containers ls"*|*"images ls"*|*"leases ls"*) ${lab.paths.ctr} "$@"; seq ${FLOOD} | sed 's/^/junk-/' ;;`,
        `  *) exec ${lab.paths.ctr} "$@" ;;`,
        'esac',
      ].join('\n'),
    );
  const recordIds = `$(ls /run/lesson-check/runs | sed -n 's/\\.json$//p')`;
  const floodCtr = flooding(floodCtrLog, recordIds);
  const deadCtr = flooding(deadRecordCtrLog, '0000bb');

  // the junk in junk-records' records folder: every shape but the one lesson-check writes
  const junk = join(dir, 'junk');
  mkdirSync(junk);
  const put = (name: string, text: string) => writeFileSync(join(junk, name), text);
  put('null.json', 'null');
  put('array.json', '[]');
  put('string.json', '"lc-000000"');
  put('empty.json', '{}');
  // the second shape: the grader's machine as origin, no paths
  put('0000aa.json', JSON.stringify({ runId: '0000aa', mode: 'grade', origin: hostname(), pid: 4_194_000 }));
  // the shape exactly, run by a dead process of the grader's: swept, through its own flooding ctr
  put('0000bb.json', deadRecord('0000bb', { ...lab.paths, ctr: deadCtr }, lab.prefix));
  put('0000cc.json', deadRecord('../../x', lab.paths, lab.prefix));
  put('0000dd.json', `${' '.repeat(5_000_000)}{}`);
  put('0000ee.json', deadRecord('0000ee', { ...lab.paths, nerdctlDataRoot: '/var/../' }, lab.prefix));
  const junkSetup = [
    'mkdir -p /run/lesson-check',
    'mount -t tmpfs lc-fighting /run/lesson-check',
    'mkdir /run/lesson-check/runs',
    `cp -a ${junk}/. /run/lesson-check/runs/`,
    'ln -s /etc/shadow /run/lesson-check/runs/0000ff.json',
    `cd /run/lesson-check/runs && seq ${FLOOD} | sed 's/^/zz-/' | xargs touch`,
  ].join('\n');
  const ownRecords = 'mkdir -p /run/lesson-check\nmount -t tmpfs lc-fighting /run/lesson-check';

  const hostile = { serverConfig: ['AcceptEnv *', 'AllowAgentForwarding yes', `ForceCommand ${spy}`] };
  const sshds: Record<Fight, Sshd> = {
    honest: await startSshd({ serverConfig: ['AcceptEnv *', 'AllowAgentForwarding yes'] }),
    'junk-records': await startSshd({ ...hostile, ownMounts: junkSetup }),
    'flood-lists': await startSshd({ ...hostile, ownMounts: ownRecords }),
  };
  // the grader's own ssh_config: what a grader who hops between machines has
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(
    knownHosts,
    Object.values(sshds)
      .map((s) => readFileSync(join(dirname(s.config), 'known_hosts'), 'utf8'))
      .join(''),
  );
  const sshConfig = join(dir, 'ssh_config');
  writeFileSync(
    sshConfig,
    [
      'Host *',
      '  ForwardAgent yes',
      '  SendEnv *',
      `  UserKnownHostsFile ${knownHosts}`,
      '  StrictHostKeyChecking yes',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const floodProfile = join(dir, 'flood-lists.toml');
  writeFileSync(floodProfile, `${readFileSync(labProfile, 'utf8')}\n[paths]\nctr = ${JSON.stringify(floodCtr)}\n`);
  const line = (name: string, does: Fight) => {
    const s = sshds[does];
    const profile = does === 'flood-lists' ? floodProfile : labProfile;
    return (
      `${name} ansible_host=127.0.0.1 ansible_port=${s.port} ansible_user=root ` +
      `ansible_ssh_private_key_file=${s.key} lesson_check_profile=${profile}`
    );
  };
  const inventory = join(dir, 'class.ini');
  writeFileSync(inventory, ['[class]', ...FIGHTING_CLASS.map((h) => line(h.name, h.does)), ''].join('\n'));
  const honestInventory = join(dir, 'honest.ini');
  writeFileSync(
    honestInventory,
    ['[class]', ...FIGHTING_CLASS.filter((h) => h.does === 'honest').map((h) => line(h.name, h.does)), ''].join('\n'),
  );
  return {
    dir,
    inventory,
    honestInventory,
    sshConfig,
    envLog,
    deadRecordCtrLog,
    floodCtrLog,
    sshTo: (does, command) => {
      const s = sshds[does];
      return [
        'ssh',
        '-F',
        sshConfig,
        '-o',
        'BatchMode=yes',
        '-i',
        s.key,
        '-p',
        String(s.port),
        'root@127.0.0.1',
        command,
      ];
    },
    stop: async () => {
      for (const s of Object.values(sshds)) await s.stop();
    },
  };
}
