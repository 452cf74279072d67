// The catalogue of single mistakes: how this lesson goes wrong for real people, one slip at a
// time, and what a grade must say of each. One mistake fails the checks whose facts it breaks,
// each with a cause that names that mistake; every other check it touches is skipped as blocked
// by them; the rest pass. test/mistakes.test.ts makes every `lab` entry on a kept sandbox lab,
// test/machine.test.ts every `machine` entry (they need systemd) on a finished machine, and
// docs/GRADING.md is made from this table (`npm run grading`).
import { chmodSync, copyFileSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { expect } from 'vitest';
import type { AptArtifacts } from '../helpers/sources/apt-source.ts';
import type { Lab } from '../helpers/lab/lab.ts';
import type { Profile } from '../helpers/profile.ts';
import type { RunReport } from '../helpers/reporters/model.ts';

/** Puts a mistake right again. */
export type Undo = () => void | Promise<void>;

/** What a lab mistake is made with: the kept lab, the student's own nerdctl, Debian's packages. */
export interface LabHands {
  /** A path of the lab's host: `/usr/local/sbin/runc` → the lab's own. */
  at(path: string): string;
  profile: Profile;
  lab: Lab;
  /** nerdctl as the student types it (the lab's socket, data root and CNI dirs). */
  student(...args: string[]): Promise<unknown>;
  /** Debian's own containerd, runc and CNI plugins (other releases than the lesson's). */
  debian: AptArtifacts;
}

interface MistakeFacts {
  /** The mistake, in a grader's words. */
  mistake: string;
  /** The checks it fails, each with the words its cause must contain. */
  fails: Record<string, string | RegExp>;
  /** The checks it blocks: skipped as "blocked by" one of `fails`. Every other check passes. */
  blocks?: string[];
  /** Words a failing check's hint must contain: its hint is true of this mistake. */
  hints?: Record<string, string | RegExp>;
  /** Why the entry is as it is, where that is not plain (a mistake that breaks no fact). */
  why?: string;
}

export interface LabMistake extends MistakeFacts {
  on: 'lab';
  /** Makes the mistake on a finished lab; returns how to undo it. */
  make(h: LabHands): Undo | Promise<Undo>;
}

export interface MachineMistake extends MistakeFacts {
  on: 'machine';
  /** Shell commands inside the finished machine that make the mistake, and that undo it. */
  make: string;
  undo: string;
}

export type Mistake = LabMistake | MachineMistake;

// the checks that cannot run without what an earlier one guards
const RUNS_CONTAINERS = ['R6', 'N2', 'N3', 'K2', 'K3', 'K4'];
const NEEDS_DAEMON = ['C3', 'R1', 'R5', ...RUNS_CONTAINERS];
const NEEDS_CONTAINERD = ['C2', ...NEEDS_DAEMON, 'R4'];
const NEEDS_NERDCTL = ['N2', 'N3', 'K2', 'K3'];
const NEEDS_PLUGINS = ['K2', 'K3', 'K4'];

/** Moves `from` to `to` (lab paths), and back. */
function move(from: string, to: string): LabMistake['make'] {
  return (h) => {
    mkdirSync(join(h.at(to), '..'), { recursive: true });
    renameSync(h.at(from), h.at(to));
    return () => renameSync(h.at(to), h.at(from));
  };
}

/** Gives `path` another mode, and back. */
function mode(path: string, bits: number): LabMistake['make'] {
  return (h) => {
    const was = statSync(h.at(path)).mode & 0o7777;
    chmodSync(h.at(path), bits);
    return () => chmodSync(h.at(path), was);
  };
}

const CONFIG = '/etc/containerd/config.toml';
/** The runc options table as the lesson writes it. */
const OPTIONS = '[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]';

/** Writes config.toml as the student did and restarts containerd (so R5 holds), and back. */
function config(edit: (lesson: string, h: LabHands) => string, opts: { restart?: boolean } = {}): LabMistake['make'] {
  return async (h) => {
    const file = h.at(CONFIG);
    const lesson = readFileSync(file, 'utf8');
    const { mtime } = statSync(file);
    writeFileSync(file, edit(lesson, h));
    if (opts.restart ?? true) await h.lab.restartContainerd();
    // not restarted: the file keeps its time, so that only its content is the mistake
    else utimesSync(file, mtime, mtime);
    return async () => {
      writeFileSync(file, lesson);
      if (opts.restart ?? true) await h.lab.restartContainerd();
      else utimesSync(file, mtime, mtime);
    };
  };
}

/** Puts Debian's `files` (their paths, by basename) over the lesson's in `dir`, and back. */
function debianOver(dir: string, files: (d: AptArtifacts) => string[], restart = false): LabMistake['make'] {
  return async (h) => {
    const replaced = files(h.debian).map((src) => ({ src, dst: join(h.at(dir), basename(src)) }));
    // renamed, not overwritten: a running binary cannot be written
    for (const { src, dst } of replaced) {
      renameSync(dst, `${dst}.lesson`);
      copyFileSync(src, dst);
      chmodSync(dst, 0o755);
    }
    if (restart) await h.lab.restartContainerd();
    return async () => {
      for (const { dst } of replaced) renameSync(`${dst}.lesson`, dst);
      if (restart) await h.lab.restartContainerd();
    };
  };
}

/** Replaces podinfo with one run as `args` say (after `run -d`), and back. */
function podinfoRun(...args: string[]): LabMistake['make'] {
  return async (h) => {
    await h.student('rm', '-f', 'podinfo');
    await h.student('run', '-d', ...args);
    return async () => {
      await h.student('rm', '-f', ...args.filter((_, i) => args[i - 1] === '--name'));
      await h.student('run', '-d', '--name', 'podinfo', h.profile.images.podinfo);
    };
  };
}

const podinfo = (h: LabHands) => h.profile.images.podinfo;

export const MISTAKES: Mistake[] = [
  // SECTIONS.installContainerd
  {
    on: 'lab',
    mistake: 'containerd unpacked into /usr/local/bin, so its binaries land in /usr/local/bin/bin',
    make: async (h) => {
      const names = ['containerd', 'containerd-shim-runc-v2', 'containerd-stress', 'ctr'];
      const undos: Undo[] = [];
      for (const n of names) undos.push(await move(`/usr/local/bin/${n}`, `/usr/local/bin/bin/${n}`)(h));
      return async () => {
        for (const u of undos) await u();
        rmSync(h.at('/usr/local/bin/bin'), { recursive: true });
      };
    },
    fails: { C1: 'containerd was unpacked into the wrong folder' },
    // the profile's own folders: in a lab, the lesson's /usr/local under its prefix
    hints: { C1: /unpack it into \S*\/usr\/local \(.*, not into \S*\/usr\/local\/bin$/ },
    blocks: NEEDS_CONTAINERD,
  },
  {
    on: 'lab',
    mistake: "the runc shim copied by hand, without the tarball's modes",
    make: mode('/usr/local/bin/containerd-shim-runc-v2', 0o644),
    fails: { C1: /containerd-shim-runc-v2 is not executable$/ },
    hints: { C1: 'unpack it with tar' },
    blocks: NEEDS_CONTAINERD,
  },
  {
    on: 'lab',
    mistake: "another containerd release (Debian's 2.1) installed and running instead of 2.2.1",
    make: debianOver('/usr/local/bin', (d) => [d.files.containerd, d.files.ctr, d.files.shim], true),
    fails: { C1: /^containerd 2\.1\.\d+ instead of the pinned release$/ },
    hints: { C1: 'downloads containerd 2.2.1' },
    why: 'another release still runs the lesson: every check that needs C1 says whether it works',
  },
  {
    on: 'lab',
    mistake: 'containerd not running',
    make: async (h) => {
      await h.lab.stopContainerd();
      return () => h.lab.startContainerd();
    },
    fails: { C2: /^PID \d+ is not running$/ },
    blocks: NEEDS_DAEMON,
  },
  {
    on: 'machine',
    mistake: 'containerd started but not enabled (it will not come back after a reboot)',
    make: 'systemctl disable containerd',
    undo: 'systemctl enable containerd',
    fails: { C2: 'containerd is not enabled: it will not start at boot' },
    hints: { C2: 'systemctl enable containerd' },
    why: 'containerd answers now: every check that needs C2 still runs, and passes',
  },
  {
    on: 'machine',
    mistake: 'containerd enabled but not started',
    make: 'systemctl stop containerd',
    undo: 'systemctl start containerd',
    fails: { C2: /^`systemctl is-active containerd` says (inactive|failed)$/ },
    hints: { C2: 'systemctl start containerd' },
    blocks: NEEDS_DAEMON,
  },
  {
    on: 'machine',
    mistake: 'the unit file edited, and `systemctl daemon-reload` forgotten',
    make: 'echo "# edited" >> /etc/systemd/system/containerd.service',
    undo: 'sed -i "/# edited/d" /etc/systemd/system/containerd.service && systemctl daemon-reload',
    fails: { C2: 'the unit file was edited without `systemctl daemon-reload`' },
    hints: { C2: 'daemon-reload' },
  },
  // SECTIONS.meetCtr
  {
    on: 'lab',
    mistake: 'runc copied twice: a second copy in /usr/local/bin beside the lesson one',
    make: (h) => {
      copyFileSync(h.at('/usr/local/sbin/runc'), h.at('/usr/local/bin/runc'));
      chmodSync(h.at('/usr/local/bin/runc'), 0o755);
      return () => rmSync(h.at('/usr/local/bin/runc'));
    },
    fails: { R1: /^a second runc is installed in \S+\/usr\/local\/bin$/ },
    hints: { R1: 'installs runc once' },
  },
  {
    on: 'machine',
    mistake: "Debian's runc package installed beside the lesson's runc",
    make: 'cp /opt/lesson-check/distro-runc /usr/sbin/runc',
    undo: 'rm /usr/sbin/runc',
    fails: { R1: "another runc is on containerd's PATH" },
    hints: { R1: 'remove that package' },
  },
  // SECTIONS.installRunc
  {
    on: 'lab',
    mistake: 'runc not installed',
    make: move('/usr/local/sbin/runc', '/lab/runc.away'),
    fails: { R2: 'runc is not installed' },
    blocks: RUNS_CONTAINERS,
  },
  {
    on: 'lab',
    mistake: 'runc installed in /usr/local/bin instead of /usr/local/sbin',
    make: move('/usr/local/sbin/runc', '/usr/local/bin/runc'),
    fails: { R2: 'runc is installed under another name or folder' },
    hints: { R2: 'in sbin' },
    why: "containerd still finds it on its PATH: only R2's fact is broken, and R1 does not charge it again",
  },
  {
    on: 'lab',
    mistake: 'runc installed under the release name, /usr/local/sbin/runc.amd64',
    make: move('/usr/local/sbin/runc', '/usr/local/sbin/runc.amd64'),
    fails: { R2: 'runc is installed under another name or folder' },
    hints: { R2: 'without .amd64' },
    blocks: RUNS_CONTAINERS,
  },
  {
    on: 'lab',
    mistake: 'runc downloaded but not made executable (cp instead of install -m 755)',
    make: mode('/usr/local/sbin/runc', 0o644),
    fails: { R2: 'runc is not executable' },
    hints: { R2: 'install -m 755' },
    blocks: RUNS_CONTAINERS,
  },
  {
    on: 'lab',
    mistake: 'runc installed with mode 0700 (executable by root only)',
    make: mode('/usr/local/sbin/runc', 0o700),
    fails: { R2: "runc has other permissions than the lesson's" },
    hints: { R2: 'install -m 755' },
  },
  {
    on: 'lab',
    mistake: "another runc release (Debian 12's 1.1) at /usr/local/sbin/runc",
    make: debianOver('/usr/local/sbin', (d) => [d.files.runc]),
    fails: { R2: /^runc 1\.1\.\d+ instead of the pinned release$/ },
    hints: { R2: 'downloads runc v1.4.0' },
  },
  // SECTIONS.configureContainerd
  {
    on: 'lab',
    mistake: 'SystemdCgroup = "true", a string',
    make: config((t) => t.replace('SystemdCgroup = true', 'SystemdCgroup = "true"')),
    fails: { R3: 'SystemdCgroup is a string, not a boolean' },
    hints: { R3: 'bare boolean' },
    blocks: ['R4'],
  },
  {
    on: 'lab',
    mistake: 'SystemdCgroup = True, capitalised (not TOML), before containerd was restarted',
    make: config((t) => t.replace('SystemdCgroup = true', 'SystemdCgroup = True'), { restart: false }),
    fails: { R3: /^config\.toml is not valid TOML \(\S+\/etc\/containerd\/config\.toml:4:\d+\)$/ },
    hints: { R3: 'TOML syntax at that line' },
    blocks: ['R4', 'R5'],
  },
  {
    on: 'lab',
    mistake: 'SystemdCgroup misspelt (systemdCgroup)',
    make: config((t) => t.replace('SystemdCgroup', 'systemdCgroup')),
    fails: { R3: 'the SystemdCgroup key is misspelt' },
    hints: { R3: 'case-sensitive' },
    blocks: ['R4'],
  },
  {
    on: 'lab',
    mistake: 'SystemdCgroup = false',
    make: config((t) => t.replace('SystemdCgroup = true', 'SystemdCgroup = false')),
    fails: { R3: 'SystemdCgroup is false' },
    blocks: ['R4'],
  },
  {
    on: 'lab',
    mistake: 'SystemdCgroup left out (the runc options table alone)',
    make: config((t) => t.replace('SystemdCgroup = true', '')),
    fails: { R3: 'SystemdCgroup is not set' },
    blocks: ['R4'],
  },
  {
    on: 'lab',
    mistake: "SystemdCgroup placed in the runtime's table, not its options table",
    make: config((t) => t.replace(OPTIONS, OPTIONS.replace('.options]', ']'))),
    fails: { R3: 'SystemdCgroup is set in the wrong table' },
    hints: { R3: 'runc options table' },
    blocks: ['R4'],
  },
  {
    on: 'lab',
    mistake: 'SystemdCgroup under the version 2 plugin name (io.containerd.grpc.v1.cri)',
    make: config((t) => t.replace('io.containerd.cri.v1.runtime', 'io.containerd.grpc.v1.cri')),
    fails: { R3: 'SystemdCgroup is set under the version 2 plugin name' },
    hints: { R3: 'io.containerd.cri.v1.runtime' },
    blocks: ['R4'],
  },
  {
    on: 'lab',
    mistake: 'the whole config in version 2 syntax (a containerd 1.x guide followed)',
    make: config((t) =>
      t.replace('version = 3', 'version = 2').replace('io.containerd.cri.v1.runtime', 'io.containerd.grpc.v1.cri'),
    ),
    fails: { R3: 'the config is not a version 3 config' },
    hints: { R3: 'version = 3' },
    why: 'containerd 2 migrates an older config as it loads it, so R4 finds SystemdCgroup = true in effect',
  },
  {
    on: 'lab',
    mistake: '`version = 3` left out',
    make: config((t) => t.replace('version = 3', '')),
    fails: { R3: 'the config is not a version 3 config' },
    why: 'containerd reads it as an older version and migrates it: R4 finds SystemdCgroup = true in effect',
  },
  {
    on: 'lab',
    mistake: 'config.toml never written',
    make: move(CONFIG, '/lab/config.toml.away'),
    fails: { R3: 'config.toml is missing' },
    blocks: ['R4', 'R5'],
  },
  {
    on: 'lab',
    mistake: 'the config written under another name (/etc/containerd/containerd.toml)',
    make: move(CONFIG, '/etc/containerd/containerd.toml'),
    fails: { R3: 'the config file has another name' },
    hints: { R3: 'not another name' },
    blocks: ['R4', 'R5'],
  },
  {
    on: 'lab',
    mistake: "a second config beside config.toml (containerd's default, saved as default.toml)",
    make: (h) => {
      copyFileSync(h.at(CONFIG), h.at('/etc/containerd/default.toml'));
      return () => rmSync(h.at('/etc/containerd/default.toml'));
    },
    fails: {},
    why: 'containerd reads config.toml alone: a spare file breaks no fact of the lesson, and costs nothing',
  },
  {
    on: 'lab',
    mistake: 'config.toml edited after containerd was restarted',
    make: (h) => {
      const file = h.at(CONFIG);
      writeFileSync(file, readFileSync(file));
      return () => h.lab.restartContainerd();
    },
    fails: { R5: 'config.toml was changed after containerd last started' },
    hints: { R5: 'restart' },
  },
  {
    on: 'machine',
    mistake: 'config.toml edited after containerd was restarted (systemd)',
    make: 'touch /etc/containerd/config.toml',
    undo: 'systemctl restart containerd',
    fails: { R5: 'config.toml was changed after containerd last started' },
    hints: { R5: 'systemctl restart containerd' },
  },
  {
    on: 'lab',
    mistake: 'a file config.toml imports turns SystemdCgroup off again',
    make: async (h) => {
      const dropIn = h.at('/etc/containerd/conf.d/99-cgroups.toml');
      mkdirSync(join(dropIn, '..'), { recursive: true });
      writeFileSync(dropIn, `version = 3\n\n${OPTIONS}\nSystemdCgroup = false\n`);
      const undo = await config((t) => `imports = ["${dropIn}"]\n${t}`)(h);
      return async () => {
        await undo();
        rmSync(join(dropIn, '..'), { recursive: true });
      };
    },
    fails: { R4: "containerd's effective config does not enable SystemdCgroup" },
    hints: { R4: 'a file it imports' },
  },
  // SECTIONS.installNerdctl
  {
    on: 'lab',
    mistake: 'nerdctl not made executable',
    make: mode('/usr/local/bin/nerdctl', 0o644),
    fails: { N1: 'nerdctl has the wrong permissions' },
    hints: { N1: 'install -m 755' },
    blocks: NEEDS_NERDCTL,
  },
  {
    on: 'lab',
    mistake: 'nerdctl installed in /usr/local/sbin, beside runc',
    make: move('/usr/local/bin/nerdctl', '/usr/local/sbin/nerdctl'),
    fails: { N1: 'nerdctl is installed in another folder' },
    blocks: NEEDS_NERDCTL,
  },
  {
    on: 'lab',
    mistake: "nerdctl's bash completion not written",
    make: move('/etc/bash_completion.d/nerdctl', '/lab/nerdctl-completion.away'),
    fails: { N1: 'the bash completion is missing' },
  },
  {
    on: 'lab',
    mistake: "nerdctl's bash completion left empty (`sudo nerdctl completion bash > file` as a user)",
    make: (h) => {
      const file = h.at('/etc/bash_completion.d/nerdctl');
      const text = readFileSync(file);
      writeFileSync(file, '');
      return () => writeFileSync(file, text);
    },
    fails: { N1: 'the bash completion is empty' },
    hints: { N1: 'root shell' },
  },
  // SECTIONS.installCniPlugins
  {
    on: 'lab',
    mistake: 'the CNI plugins never unpacked',
    make: move('/opt/cni/bin', '/lab/cni-bin.away'),
    fails: { K1: 'CNI plugins are missing' },
    blocks: NEEDS_PLUGINS,
  },
  {
    on: 'lab',
    mistake: 'the CNI plugins tarball unpacked into a folder of its own inside /opt/cni/bin',
    make: (h) => {
      const bin = h.at('/opt/cni/bin');
      const nested = join(bin, 'cni-plugins-linux-amd64-v1.9.0');
      const plugins = readdirSync(bin);
      mkdirSync(nested);
      for (const p of plugins) renameSync(join(bin, p), join(nested, p));
      return () => {
        for (const p of plugins) renameSync(join(nested, p), join(bin, p));
        rmSync(nested, { recursive: true });
      };
    },
    fails: { K1: 'the CNI plugins were unpacked into the wrong folder' },
    hints: { K1: 'belong directly in' },
    blocks: NEEDS_PLUGINS,
  },
  {
    on: 'lab',
    mistake: 'the CNI plugins unpacked into /opt/cni instead of /opt/cni/bin',
    make: (h) => {
      const bin = h.at('/opt/cni/bin');
      const plugins = readdirSync(bin);
      for (const p of plugins) renameSync(join(bin, p), h.at(`/opt/cni/${p}`));
      return () => {
        for (const p of plugins) renameSync(h.at(`/opt/cni/${p}`), join(bin, p));
      };
    },
    fails: { K1: 'the CNI plugins were unpacked into the wrong folder' },
    blocks: NEEDS_PLUGINS,
  },
  {
    on: 'lab',
    mistake: 'the CNI plugins copied one by one, host-local without its execute bits',
    make: mode('/opt/cni/bin/host-local', 0o644),
    fails: { K1: 'some CNI plugins are not executable' },
    hints: { K1: 'unpack it with tar' },
    blocks: NEEDS_PLUGINS,
  },
  {
    on: 'lab',
    mistake: "the CNI plugins of another build (Debian's package, which does not say its release)",
    make: debianOver('/opt/cni/bin', (d) => ['bridge', 'host-local', 'loopback'].map((p) => join(d.files.cniDir, p))),
    fails: { K1: 'the CNI plugins are another build than the pinned release' },
    hints: { K1: 'v1.9.0' },
    why: 'another build still wires containers: the checks that need K1 say whether it works',
  },
  // SECTIONS.runPodinfo
  {
    on: 'lab',
    mistake: 'podinfo never run',
    make: async (h) => {
      await h.student('rm', '-f', 'podinfo');
      return async () => void (await h.student('run', '-d', '--name', 'podinfo', podinfo(h)));
    },
    fails: { K2: 'there is no podinfo container' },
    blocks: ['K3'],
  },
  {
    on: 'lab',
    mistake: 'podinfo stopped',
    make: async (h) => {
      await h.student('stop', 'podinfo');
      return async () => void (await h.student('start', 'podinfo'));
    },
    fails: { K2: 'podinfo is not running' },
    hints: { K2: 'nerdctl logs podinfo' },
    blocks: ['K3'],
  },
  {
    on: 'lab',
    mistake: 'podinfo run under another name',
    make: async (h) => podinfoRun('--name', 'my-podinfo', podinfo(h))(h),
    fails: { K2: 'podinfo runs under another name' },
    hints: { K2: '--name podinfo' },
    blocks: ['K3'],
  },
  {
    on: 'lab',
    mistake: 'podinfo run with --net host instead of on the bridge',
    make: async (h) => podinfoRun('--name', 'podinfo', '--net', 'host', podinfo(h))(h),
    fails: { K3: "podinfo is not on nerdctl's bridge network" },
    hints: { K3: '--net host' },
  },
  {
    on: 'lab',
    mistake: 'podinfo run on another port (--port 8080)',
    make: async (h) => podinfoRun('--name', 'podinfo', podinfo(h), './podinfo', '--port', '8080')(h),
    fails: { K3: 'podinfo listens on port 8080, not 9898' },
    hints: { K3: '9898' },
  },
];

export const LAB_MISTAKES = MISTAKES.filter((m): m is LabMistake => m.on === 'lab');
export const MACHINE_MISTAKES = MISTAKES.filter((m): m is MachineMistake => m.on === 'machine');

/** A grade of a host with this one mistake: exactly its checks fail, each naming it; the checks
 * it blocks are skipped as blocked by them; everything else passes; and the points lost are those
 * of the checks it failed and blocked. */
export function expectTheMistakeAlone(report: RunReport | undefined, m: MistakeFacts, output: string): void {
  expect(report, output).toBeDefined();
  const fails = Object.keys(m.fails);
  const blocks = m.blocks ?? [];
  const states = Object.fromEntries(report!.checks.map((c) => [c.id, c.state]));
  const wanted = Object.fromEntries(
    report!.checks.map((c) => [c.id, fails.includes(c.id) ? 'failed' : blocks.includes(c.id) ? 'skipped' : 'passed']),
  );
  const unexpected = report!.checks.filter((c) => c.state !== wanted[c.id]);
  expect(
    states,
    JSON.stringify(
      unexpected.map((c) => ({ ...c, transcript: undefined })),
      null,
      1,
    ),
  ).toEqual(wanted);
  for (const c of report!.checks) {
    if (fails.includes(c.id)) {
      const cause = m.fails[c.id]!;
      expect(c.cause, c.id).toEqual(typeof cause === 'string' ? cause : expect.stringMatching(cause));
      const hint = m.hints?.[c.id];
      if (hint) expect(c.hint, `${c.id} hint`).toMatch(hint);
    }
    if (blocks.includes(c.id)) expect(c.skipReason, c.id).toMatch(new RegExp(`^blocked by (${fails.join('|')}): `));
  }
  // a blocked check earns nothing (it could not be shown to work), and is charged to the mistake
  // that blocked it, as its one hint says: the points lost are the entry's checks, no more
  const weight = (id: string) => report!.checks.find((c) => c.id === id)!.weight;
  const grade = report!.grade!;
  expect(grade.maxScore - grade.score, 'points lost').toBe([...fails, ...blocks].reduce((s, id) => s + weight(id), 0));
}
