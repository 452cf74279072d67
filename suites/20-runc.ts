// Stage 20: without runc, `ctr run` fails for exactly that reason; with runc and the lesson's
// version 3 config.toml (SystemdCgroup = true), loaded by a restarted containerd, it runs the
// hello image. Walking, it performs the lesson's failing run, then installs runc and writes and
// loads config.toml; inspecting, it proves R1 with a runc binary name that exists nowhere,
// and runs its probes in its own namespace.
import { basename, dirname } from 'node:path';
import { SECTIONS, STAGES } from '../helpers/checks/catalogue.ts';
import {
  type CheckContext,
  type CheckDetails,
  check,
  observedCommand,
  require,
  stage,
} from '../helpers/checks/check.ts';
import {
  RUNC_OPTIONS_PATH,
  V2_RUNC_OPTIONS_PATH,
  describeValue,
  parseToml,
  valueAt,
} from '../helpers/system/config-toml.ts';
import { ctrRun, ctrRunPrinting } from '../helpers/system/containerd.ts';
import { findElsewhere, nearMisses } from '../helpers/checks/diagnose.ts';
import {
  type Diagnosis,
  expectAbsentBeforeStep,
  expectMode,
  expectParsedToml,
  expectNoContainerLeft,
  expectPinnedVersion,
  failWith,
  notExecutable,
} from '../helpers/checks/expectations.ts';
import { processAndFileAges, runcsOnDaemonPath, serviceStatus } from '../helpers/system/service.ts';
import type { Host } from '../helpers/host/host.ts';
import type { Profile } from '../helpers/profile.ts';
import type { CommandResult } from '../helpers/host/transport.ts';
import { parseVersion } from '../helpers/system/versions.ts';

const SETTING = 'plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options.SystemdCgroup';
const { installRunc, configureContainerd } = SECTIONS;
const missingExecutable = (name: string) => `exec: "${name}": executable file not found in $PATH`;

stage(STAGES.runc, () => {
  check(
    'R1',
    {
      // walking, runc is really absent: the lesson installs it in its next step
      step: {
        before: ({ host, profile }) =>
          expectAbsentBeforeStep(host, installRunc, [profile.paths.runc], {
            what: `runc at ${profile.paths.runc}`,
            hostWithout: 'runc',
          }),
      },
      inspecting: expectNoOtherRuncOnDaemonPath,
    },
    async (c) => {
      const { host, profile, namespace } = c;
      // inspecting, the counterfactual: the same run, told to use a runc that exists nowhere
      const absent = c.probe('absent-runc');
      const runc = absent ?? 'runc';
      const name = c.probe('r1') ?? 'hello';
      const flags = ['--rm', ...(absent ? ['--runc-binary', absent] : [])];
      const r = await host.run(ctrRun(profile, { namespace, flags }, profile.images.hello, name), {
        timeoutMs: 60_000,
      });
      const expected = `\`ctr run\` fails with \`${missingExecutable(runc)}\``;
      if (r.exitCode === 0 || !r.stderr.includes(missingExecutable(runc)))
        failWith(expected, diagnoseRunWithoutRunc(r));
      await expectNoContainerLeft(host, profile, namespace, name, 'the failed run leaves no container record');
    },
  );

  check('R2', { step: { perform: (c) => c.walk!.installRunc() } }, async (c) => {
    const { host, profile } = c;
    const runc = profile.paths.runc;
    const st = await host.stat(runc);
    if (!st) {
      const bins = [dirname(profile.paths.containerd), dirname(runc)];
      const found = [
        ...(await findElsewhere(host, 'runc', bins, 1)),
        ...(await findElsewhere(host, 'runc.amd64', [...bins].reverse(), 1)),
      ];
      // a `runc` found in another folder may still be on containerd's PATH: R6 says whether
      // containerd runs it (under the release's name, runc.amd64, it cannot)
      const named = found.some((f) => basename(f) === 'runc');
      failWith(`runc at ${runc}`, diagnoseMissingRunc(runc, found), { dependentsMayRun: named });
    }
    expectMode(runc, st, '0755', {
      hint:
        `lesson step ${installRunc.step} installs with \`install -m 755\`; ` +
        '`cp` or a download leaves it non-executable',
      cause: notExecutable(st) ? 'runc is not executable' : "runc has other permissions than the lesson's",
      // containerd runs as root: any execute bit for root is enough for R6
      dependentsMayRun: (parseInt(st.mode, 8) & 0o100) !== 0,
    });
    const r = await host.run([runc, '--version']);
    const wrongArch = /exec format error/i.test(r.spawnError ?? r.stderr);
    expectPinnedVersion({
      tool: 'runc',
      pinned: profile.versions.runc,
      version: parseVersion(r.stdout),
      run: r,
      ...(wrongArch
        ? WRONG_ARCH
        : { hint: `lesson step ${installRunc.step} downloads runc v${profile.versions.runc}` }),
    });
  });

  check('R3', { step: { perform: (c) => c.walk!.writeConfig() } }, async (c) => {
    const { host, profile } = c;
    const file = profile.paths.configToml;
    const text = await host.readFile(file);
    if (text === undefined) {
      const others = (await findElsewhere(host, '*.toml', [dirname(file)], 1)).filter((f) => f !== file);
      failWith(`${file} exists`, diagnoseMissingConfig(file, others));
    }
    const doc = expectParsedToml(parseToml(text, file), {
      expected: `${file} is valid TOML`,
      hint: 'fix the TOML syntax at that line; containerd will not start with it',
      cause: (where) => `config.toml is not valid TOML (${where})`,
    });
    const version = doc.version;
    require(version === 3, {
      expected: `${file} says \`version = 3\``,
      observed: `version = ${describeValue(version)}`,
      hint: 'containerd 2.x configs start with `version = 3`; version 2 uses other plugin names',
      cause: 'the config is not a version 3 config',
      dependentsMayRun: true,
    });
    const value = valueAt(doc, [...RUNC_OPTIONS_PATH, 'SystemdCgroup']);
    // R4 would only find the same mistake in the merged config; R5 (was containerd restarted
    // since?) is another mistake, and still says whether it was made
    if (value !== true)
      failWith(`${SETTING} = true (a boolean)`, diagnoseSystemdCgroup(doc), { dependentsMayRun: ['R5'] });
  });

  // R5 before R4: the walk performs the checks in the order they are declared, and the lesson
  // restarts containerd right after writing config.toml (R5 sees the daemon stale, then restarts
  // it) before it looks at the merged config (R4). The IDs are the catalogue's and stay stable.
  check(
    'R5',
    {
      step: {
        // the walk wrote config.toml after starting containerd: R5 must see the daemon stale first
        before: async ({ host, profile }) => {
          const before = await daemonAndConfigAges(host, profile);
          const daemon = before.daemon.toFixed(2);
          const config = before.config.toFixed(2);
          require(before.daemon > before.config, {
            expected: 'before the restart, the daemon predates config.toml',
            observed: `daemon up ${daemon} s, config written ${config} s ago`,
            hint: 'the walkthrough wrote config.toml after starting containerd; R5 must see that',
          });
          host.note(`before restart: daemon up ${daemon} s, config.toml written ${config} s ago (stale, as expected)`);
        },
        perform: (c) => c.walk!.restartContainerd(),
      },
    },
    async ({ host, profile }) => {
      const now = await daemonAndConfigAges(host, profile);
      // within one clock tick the order cannot be told; no one edits and restarts that fast by hand
      require(now.daemon <= now.config + now.resolution, {
        expected: 'containerd started after config.toml was last written (so it runs with that config)',
        observed: `daemon up ${now.daemon.toFixed(3)} s, config.toml written ${now.config.toFixed(3)} s ago`,
        hint: 'config.toml changed after containerd started: `systemctl restart containerd`',
        cause: 'config.toml was changed after containerd last started',
      });
    },
  );

  check('R4', async ({ host, profile }) => {
    const r = await host.run([profile.paths.containerd, '--config', profile.paths.configToml, 'config', 'dump']);
    require(r.exitCode === 0, {
      expected: 'containerd accepts the config and dumps it',
      observed: observedCommand(r),
      hint: 'containerd rejects this config.toml; the error names the problem',
      cause: 'containerd rejects config.toml',
    });
    const merged = expectParsedToml(parseToml(r.stdout, 'containerd config dump'), {
      expected: 'containerd config dump prints TOML',
      hint: 'unexpected output from containerd config dump',
    });
    const value = valueAt(merged, [...RUNC_OPTIONS_PATH, 'SystemdCgroup']);
    require(value === true, {
      expected: `the merged config has ${SETTING} = true`,
      observed: `SystemdCgroup = ${describeValue(value)} after merging imports and defaults`,
      hint:
        value === false
          ? "false is containerd's default: nothing in config.toml (or a file it imports) sets it to true"
          : 'config.toml or a file it imports sets it to something else',
      cause: "containerd's effective config does not enable SystemdCgroup",
    });
  });

  check('R6', async (c) => {
    const { host, profile, namespace } = c;
    const name = c.probe('r6') ?? 'hello';
    const r = await ctrRunPrinting(host, ctrRun(profile, { namespace, flags: ['--rm'] }, profile.images.hello, name), {
      timeoutMs: 60_000,
    });
    if (r.exitCode !== 0)
      failWith(`\`ctr run --rm ${profile.images.hello} hello\` succeeds`, diagnoseFailedRun(r, profile.paths.runc));
    const pattern = profile.expect.helloOutput;
    require(pattern ? new RegExp(pattern).test(r.stdout) : r.stdout.trim() !== '', {
      expected: pattern ? `output matching /${pattern}/` : 'the image prints its greeting',
      observed: `stdout: ${r.stdout.trim() || '(empty)'}`,
      hint: "the container ran but printed something else: is it the lesson's image?",
      cause: 'the container printed something else',
    });
    await expectNoContainerLeft(host, profile, namespace, name, '--rm leaves no container record');
  });
});

/** R5: how long containerd has run, and how long ago config.toml was last written (seconds). */
async function daemonAndConfigAges(
  host: Host,
  profile: Profile,
): Promise<{ daemon: number; config: number; resolution: number }> {
  const service = await serviceStatus(host, profile);
  require(service.pid, {
    expected: service.expected,
    observed: 'no PID for containerd',
    hint: '`systemctl status containerd` says which process runs it',
    ...service.failure,
    cause: 'containerd is not running',
  });
  const measured = await processAndFileAges(host, service.pid, profile.paths.configToml);
  require(measured.file !== undefined, {
    expected: `${profile.paths.configToml} exists`,
    observed: 'it is missing',
    hint: `lesson step ${configureContainerd.step} writes it`,
    cause: 'config.toml is missing',
  });
  return { daemon: measured.process, config: measured.file, resolution: measured.resolution };
}

/** R1, inspecting: the counterfactual names a runc that exists nowhere; a runc of another install
 * on the daemon's PATH would be found by name once the lesson's is gone, and the run would not fail. */
async function expectNoOtherRuncOnDaemonPath({ host, profile }: CheckContext): Promise<void> {
  const { pid } = await serviceStatus(host, profile);
  const lessons = (await host.run(['readlink', '-e', profile.paths.runc])).stdout.trim();
  const found = pid ? (await runcsOnDaemonPath(host, pid)).filter((f) => f !== lessons) : [];
  // a runc in the folder the lesson installs containerd into is the student's own: without the
  // lesson's, it is R2's mistake (runc installed in the wrong folder), not another install
  const own = dirname(profile.paths.containerd);
  const others = lessons ? found : found.filter((f) => dirname(f) !== own);
  require(others.length === 0, () => diagnoseOtherRunc(profile.paths.runc, others, own));
}

const WRONG_ARCH = {
  hint: 'runc was built for another architecture: download the asset for this machine (runc.amd64 or runc.arm64)',
  cause: 'runc is built for another architecture',
};

/** R1: containerd's PATH holds a runc besides the lesson's: a second copy of the student's, or
 * another install's (a distribution package). */
function diagnoseOtherRunc(runc: string, others: string[], own: string): CheckDetails {
  const expected = `no runc on containerd's PATH but the lesson's ${runc}`;
  const observed = `containerd's PATH also holds ${others.join(', ')}`;
  if (others.every((f) => dirname(f) === own))
    return {
      expected,
      observed,
      hint:
        `the lesson installs runc once, as ${runc}; a second copy in ${own} is found by containerd's shim ` +
        'whenever that one is missing, so `ctr run` cannot fail for want of runc',
      cause: `a second runc is installed in ${own}`,
    };
  return {
    expected,
    observed,
    hint:
      "a runc from another install (a distribution package: apt install runc) is found by containerd's " +
      "shim whenever the lesson's is missing, so `ctr run` cannot fail for want of runc; remove that package",
    cause: "another runc is on containerd's PATH",
  };
}

/** R1: `ctr run` without runc did not fail as the lesson shows. */
function diagnoseRunWithoutRunc(r: CommandResult): Diagnosis {
  if (r.exitCode === 0)
    return {
      observed: observedCommand(r),
      hint: "a runc is already on containerd's PATH (a distribution package in /usr/bin or /usr/sbin?)",
      cause: 'a runc was found where none should be',
    };
  return {
    observed: observedCommand(r),
    hint: 'the run failed for another reason than the missing runc: see stderr',
    cause: 'ctr run fails for another reason',
  };
}

/** R2: no runc at the lesson's path; `found` is a runc under another name or folder. */
function diagnoseMissingRunc(runc: string, found: string[]): Diagnosis {
  if (found.length)
    return {
      observed: `${runc} is missing; found ${found.join(', ')}`,
      hint: `the lesson installs runc as ${runc} (the name without .amd64, in sbin)`,
      cause: 'runc is installed under another name or folder',
    };
  return {
    observed: `${runc} is missing`,
    hint: `lesson step ${installRunc.step}: \`install -m 755 runc.amd64 ${runc}\``,
    cause: 'runc is not installed',
  };
}

/** R3: no config.toml; `others` are TOML files beside where it belongs. */
function diagnoseMissingConfig(file: string, others: string[]): Diagnosis {
  if (others.length)
    return {
      observed: `${file} is missing; found ${others.join(', ')}`,
      hint: `containerd reads ${file}, not another name`,
      cause: 'the config file has another name',
    };
  return {
    observed: `${file} is missing`,
    hint: `lesson step ${configureContainerd.step} writes ${file}`,
    cause: 'config.toml is missing',
  };
}

/** R3: SystemdCgroup is not the boolean true where version 3 reads it: what the student wrote instead. */
function diagnoseSystemdCgroup(doc: Record<string, unknown>): Diagnosis {
  const value = valueAt(doc, [...RUNC_OPTIONS_PATH, 'SystemdCgroup']);
  const underV2 = valueAt(doc, [...V2_RUNC_OPTIONS_PATH, 'SystemdCgroup']);
  const misspelt = nearMisses(valueAt(doc, RUNC_OPTIONS_PATH), 'SystemdCgroup');
  // the key in another table: the runtime's own table instead of its options, the whole path
  // written as one quoted key…
  const inTable = (key: string[], table: readonly string[]) =>
    key.length === table.length + 1 && table.every((k, i) => key[i] === k);
  const elsewhere = keysLike(doc, 'SystemdCgroup')
    .filter((key) => !inTable(key, RUNC_OPTIONS_PATH) && !inTable(key, V2_RUNC_OPTIONS_PATH))
    .map(quotedPath);
  const observed = [
    `SystemdCgroup = ${describeValue(value)}`,
    ...(underV2 !== undefined ? ['set under the version 2 plugin "io.containerd.grpc.v1.cri"'] : []),
    ...(misspelt.length ? [`found ${misspelt.join(', ')}`] : []),
    ...(elsewhere.length && !misspelt.length ? [`found at ${elsewhere.join(', ')}`] : []),
  ].join('; ');
  const says = (hint: string, cause: string): Diagnosis => ({ observed, hint, cause });
  if (typeof value === 'string')
    return says(
      'a quoted "true" is a string, and containerd wants the bare boolean',
      'SystemdCgroup is a string, not a boolean',
    );
  if (underV2 !== undefined)
    return says(
      'version 3 moved the runtime options to plugins."io.containerd.cri.v1.runtime"',
      'SystemdCgroup is set under the version 2 plugin name',
    );
  if (misspelt.length)
    return says(
      `TOML keys are case-sensitive: ${misspelt.join(', ')} is not SystemdCgroup`,
      'the SystemdCgroup key is misspelt',
    );
  if (elsewhere.length)
    return says(
      `containerd reads SystemdCgroup only in the runc options table, [${quotedPath(RUNC_OPTIONS_PATH)}]`,
      'SystemdCgroup is set in the wrong table',
    );
  if (value === false) return says('SystemdCgroup is set, to false', 'SystemdCgroup is false');
  return says(
    `lesson step ${configureContainerd.step}: the runc options table of the "io.containerd.cri.v1.runtime" plugin, ` +
      'with SystemdCgroup',
    'SystemdCgroup is not set',
  );
}

/** The path of every key in `doc` that is `wanted` or looks like it (case and plurals aside). */
function keysLike(doc: unknown, wanted: string, path: string[] = []): string[][] {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return [];
  return Object.entries(doc as Record<string, unknown>).flatMap(([k, v]) => [
    ...(k === wanted || nearMisses({ [k]: true }, wanted).length ? [[...path, k]] : []),
    ...keysLike(v, wanted, [...path, k]),
  ]);
}

/** A table's header as TOML writes it: plugins."io.containerd.cri.v1.runtime".containerd… */
function quotedPath(path: readonly string[]): string {
  return path.map((k) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : `"${k}"`)).join('.');
}

/** R6: `ctr run` with runc installed failed. */
function diagnoseFailedRun(r: CommandResult, runc: string): Diagnosis {
  if (r.stderr.includes(missingExecutable('runc')))
    return {
      observed: observedCommand(r),
      hint: `containerd finds no executable runc on its PATH: is runc in ${dirname(runc)}, and executable?`,
      cause: 'containerd cannot execute runc',
    };
  return { observed: observedCommand(r), hint: 'see stderr: runc or the image is at fault', cause: 'ctr run fails' };
}
