/**
 * `lesson-check profile`: the lesson's profile as TOML on stdout, every key at its default under a
 * comment that says what it is and which checks read it, to start a host's own profile from
 * (`lesson-check profile > my.toml`). loadProfile reads it back to the lesson profile itself.
 * docs/PROFILE.md is the reference; test/profile-docs.test.ts keeps both to the code's keys.
 */
import { SECTIONS as S } from '../checks/catalogue.ts';
import { lessonProfile, profileToml } from '../profile.ts';
import { noPositionals, parseOptions } from './options.ts';
import { declareCommand } from './usage.ts';

export const PROFILE_COMMAND = declareCommand({
  name: 'profile',
  synopsis: ['profile > my.toml'],
  about:
    "Prints the lesson's profile as TOML, each key at its default with a comment: the start of a " +
    'profile for a host laid out otherwise (other pins, an image mirror, no nerdctl). Keep only the ' +
    "keys you change, then: lesson-check verify|grade|coach --profile my.toml, or an inventory's " +
    'lesson_check_profile=my.toml. Every key: docs/PROFILE.md.',
  options: {},
  writes: 'the profile, on stdout; nothing else',
  exits: '0 printed, 2 usage error',
  env: [],
});

const HEADER = [
  "A lesson-check profile: where the lesson's files are on a host, and what the checks expect.",
  'Printed by `lesson-check profile`: the lesson profile, every key at its default. Every key is',
  'optional and one left out keeps its default: keep only the keys you change, and the rest follows',
  'the lesson. Use it with `lesson-check verify --profile FILE` (grade and coach alike), or as an',
  "inventory host's lesson_check_profile. Each key, its type and the checks that read it: docs/PROFILE.md",
  '',
];

/** The comment above each key and table, by its dotted path: what it is, and the checks that read it. */
export const PROFILE_NOTES: Readonly<Record<string, string>> = {
  prefix:
    '"" = the lesson\'s real paths; a folder = the sandbox layout under it (every path in it, service\n' +
    '"supervised", name "sandbox") for the keys left out: with a prefix, remove name, service and [paths]',
  name: 'shown in the reports (the console, JUnit, results.json, report.html)',
  service: '"systemd": C2 wants paths.unitFile enabled and active; "supervised": the PID in paths.pidFile',
  paths: "where the lesson's steps put each file; every check reads them",
  'paths.containerd': `step ${S.installContainerd.step} (C1; C2: what the service runs; R4: config dump)`,
  'paths.ctr': `step ${S.installContainerd.step}; every ctr command of the checks (C1, C2, C3, R1, R6, K4)`,
  'paths.shim': `step ${S.installContainerd.step}, containerd's runc shim (C1)`,
  'paths.runc': `step ${S.installRunc.step} (R1, R2, R6)`,
  'paths.nerdctl': `step ${S.installNerdctl.step}; every nerdctl command of the checks (N1, N2, N3, K2, K3)`,
  'paths.configToml': `step ${S.configureContainerd.step} (R3, R4, R5)`,
  'paths.socket': "containerd's socket: every ctr and nerdctl command's --address (C2 and on)",
  'paths.cniBinDir': `step ${S.installCniPlugins.step}, the CNI plugins (K1, K4; nerdctl's --cni-path)`,
  'paths.cniConfDir': "nerdctl's --cni-netconfpath, where its default network goes (N2, N3, K2, K3)",
  'paths.unitFile': `the systemd unit of step ${S.installContainerd.step}, with service = "systemd" (C2)`,
  'paths.bashCompletion': `step ${S.installNerdctl.step}, nerdctl's bash completion (N1)`,
  'paths.hostsDir': 'registry configs (hosts.toml), given to ctr and nerdctl as --hosts-dir ("" = none; every pull)',
  'paths.pidFile': 'the daemon\'s PID, with service = "supervised" ("" = none; C2, R5)',
  'paths.nerdctlDataRoot': "nerdctl's --data-root (N2, N3, K2, K3)",
  'paths.runcRoot': '`ctr run --runc-root` ("" = runc\'s default; R1, R6, K4)',
  'paths.cgroupParent': '`ctr run --cgroup PARENT/NAME` ("" = containerd\'s default; R1, R6, K4)',
  versions: 'the pins: the version each binary must report of itself',
  'versions.containerd': 'C1',
  'versions.runc': 'R2',
  'versions.nerdctl': 'N1',
  'versions.cniPlugins': "K1: the bridge plugin's release",
  images: "the lesson's images, as pulled and run",
  'images.hello': `step ${S.meetCtr.step} (C3, R1, R6)`,
  'images.podinfo': `steps ${S.installNerdctl.step} and ${S.runPodinfo.step} (N2, N3, K2, K4)`,
  expect: 'what the checks expect to see',
  'expect.helloOutput': 'a regular expression the hello image\'s output must match ("" = any output; R6)',
  'expect.podinfoPort': "podinfo's port (K3, K4)",
  'expect.podinfoName': 'the name the lesson gives the podinfo container (K2, K3)',
  'expect.nerdctlSubnet': "nerdctl's default bridge network: podinfo's IP lies in it (K3)",
  'expect.cniPlugins': 'the plugins that must answer CNI_COMMAND=VERSION in paths.cniBinDir (K1)',
  'expect.hostTools': "the host tools the lesson's commands use (H4)",
  unavailable: 'parts of the lesson this host cannot have, each with the reason ("" = available)',
  'unavailable.nerdctl': 'a reason: N1, N2, N3, K2 and K3 are then skipped as not applicable, saying it',
  provenance: 'where the binaries and images came from: for the reports only, no check reads it',
  'provenance.source': 'where the binaries came from ("lesson", or a lab\'s source: github, go, apt, dir)',
  'provenance.standInImages': "true when the images are stand-ins (a lab's), not the lesson's",
  'provenance.podinfo': 'podinfo\'s version when the image is the real program ("" = unknown)',
  'provenance.notes': 'lines the reports show under the run',
};

/** The lesson's profile as commented TOML, every key written. */
export function lessonProfileToml(): string {
  return profileToml(lessonProfile(), HEADER, { all: true, notes: PROFILE_NOTES });
}

export function profileCommand(args: string[]): Promise<number> {
  const { positionals } = parseOptions(PROFILE_COMMAND, args);
  noPositionals('profile', positionals);
  process.stdout.write(lessonProfileToml());
  return Promise.resolve(0);
}
