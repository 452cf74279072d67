// Stage 30: nerdctl is installed with its bash completion; without CNI plugins a bridged run
// fails for want of the bridge plugin, and with --net host it runs podinfo. Walking, it installs
// nerdctl as the lesson does; inspecting, it proves N2 against an empty plugin dir of its own and
// runs its probes in its own namespace, with nerdctl's state in temp dirs of their own. Hosts
// whose profile says nerdctl is unavailable skip, saying why.
import { dirname } from 'node:path';
import { SECTIONS, STAGES } from '../helpers/checks/catalogue.ts';
import { type CheckContext, check, observedCommand, require, stage } from '../helpers/checks/check.ts';
import { ctrRunPrinting, nerdctl, pullOnce, withNerdctlProbe } from '../helpers/system/containerd.ts';
import { findElsewhere, neighbourDirs } from '../helpers/checks/diagnose.ts';
import {
  type Diagnosis,
  expectMode,
  expectNoCniPluginsYet,
  expectPinnedVersion,
  failWith,
} from '../helpers/checks/expectations.ts';
import type { CommandResult } from '../helpers/host/transport.ts';
import { SEMVER, parseVersion } from '../helpers/system/versions.ts';

/** The two texts nerdctl gives when the bridge plugin is missing: the lesson's (from the OCI
 * hook, once a conflist exists) and nerdctl 2.2's earlier check. nerdctl's fatal log line quotes
 * the message, so its quotes may arrive escaped, once or twice over (`\\\"bridge\\\"`). */
const NO_BRIDGE = [
  { pattern: /failed to find plugin \\*"bridge\\*" in path/, name: "the lesson's OCI-hook error" },
  { pattern: /needs CNI plugin \\*"bridge\\*" to be installed in CNI_PATH/, name: "nerdctl's pre-flight error" },
];
/** podinfo's own command inside its image, asked for its version. */
const PODINFO_VERSION = ['/home/app/podinfo', '--version'];
const { installNerdctl } = SECTIONS;

stage(STAGES.nerdctl, () => {
  check(
    'N1',
    {
      notApplicable: ({ profile }) => profile.unavailable.nerdctl,
      step: { perform: (c) => c.walk!.installNerdctl() },
    },
    async (c) => {
      const { host, profile } = c;
      const st = await host.stat(profile.paths.nerdctl);
      if (!st) {
        // another bin folder (sbin, like runc), or left where the tarball was unpacked
        const near = neighbourDirs(profile.paths.nerdctl);
        const found = (await findElsewhere(host, 'nerdctl', near, 2)).filter((f) => f !== profile.paths.nerdctl);
        failWith(`nerdctl at ${profile.paths.nerdctl}`, diagnoseMissingNerdctl(profile.paths.nerdctl, found));
      }
      expectMode(profile.paths.nerdctl, st, '0755', {
        hint: `lesson step ${installNerdctl.step} installs with \`install -m 755\``,
        cause: 'nerdctl has the wrong permissions',
      });
      const r = await host.run([profile.paths.nerdctl, '--version']);
      expectPinnedVersion({
        tool: 'nerdctl',
        pinned: profile.versions.nerdctl,
        // "nerdctl version 2.2.1"
        version: parseVersion(r.stdout.replace(/^nerdctl version /, '')),
        run: r,
        hint: `lesson step ${installNerdctl.step} downloads nerdctl ${profile.versions.nerdctl}`,
      });
      const completion = await host.stat(profile.paths.bashCompletion);
      require(completion && completion.size > 0, {
        expected: `bash completion at ${profile.paths.bashCompletion}`,
        observed: completion ? 'the file is empty' : 'it is missing',
        // `sudo nerdctl completion bash > file`: the redirection is the unprivileged shell's, so
        // the file is not written (or, made beforehand, left empty)
        hint:
          `lesson step ${installNerdctl.step}: \`nerdctl completion bash > /etc/bash_completion.d/nerdctl\`, ` +
          'in a root shell: ' +
          "with `sudo nerdctl … > file` the redirection is not root's",
        cause: completion ? 'the bash completion is empty' : 'the bash completion is missing',
        dependentsMayRun: true,
      });
    },
  );

  // walking, the plugins are really absent: the lesson installs them in its next step
  const noPluginsYet = {
    before: ({ host, profile }: CheckContext) => expectNoCniPluginsYet(host, profile),
  };
  check('N2', { step: noPluginsYet }, async (c) => {
    const { host, profile, namespace } = c;
    // inspecting, the counterfactual: the same run, pointed at an empty plugin dir of its own
    const probeName = c.probe('n2');
    // and podinfo pulled once for the run, for N2, N3 and K4 (each nerdctl run would pull and
    // unpack it again, at the same time as the others)
    if (probeName) await pullOnce(host, profile, profile.images.podinfo, namespace!);
    await withNerdctlProbe(host, probeName, namespace, async (probe) => {
      const opts = probe.dir ? { ...probe, cniPath: probe.dir } : probe;
      if (probe.netconfPath) {
        // the host's default network, if nerdctl made one: without it nerdctl would make its own
        // again and refuse, its 10.4.0.0/24 overlapping the host's nerdctl0
        await host.ensure(['mkdir', '-p', probe.netconfPath]);
        await host.anyhow(['cp', '--', `${profile.paths.cniConfDir}/nerdctl-bridge.conflist`, probe.netconfPath]);
      }
      const run = nerdctl(profile, opts, 'run', '--rm', profile.images.podinfo, ...PODINFO_VERSION);
      const r = await host.run(run, { timeoutMs: 120_000 });
      const seen = NO_BRIDGE.find((m) => m.pattern.test(r.stderr));
      if (r.exitCode === 0 || !seen)
        failWith('nerdctl run fails because the bridge plugin is missing', diagnoseRunWithoutBridge(r));
      host.note(
        seen === NO_BRIDGE[0]
          ? `N2 saw ${seen.name}, as the lesson shows it`
          : `N2 saw ${seen.name}; the lesson's text differs (\`failed to find plugin "bridge" in path\`, ` +
              'which nerdctl gives once a network config exists)',
      );
    });
  });

  check('N3', async (c) => {
    const { host, profile, namespace } = c;
    const probeName = c.probe('n3');
    if (probeName) await pullOnce(host, profile, profile.images.podinfo, namespace!);
    const r = await withNerdctlProbe(host, probeName, namespace, (probe) => {
      const run = nerdctl(profile, probe, 'run', '--net', 'host', '--rm', profile.images.podinfo, ...PODINFO_VERSION);
      return ctrRunPrinting(host, run, { timeoutMs: 120_000 });
    });
    require(r.exitCode === 0, {
      expected: 'nerdctl run --net host succeeds',
      observed: observedCommand(r),
      hint: 'host networking needs no CNI plugin: check the image name and runc',
      cause: 'nerdctl run --net host fails',
    });
    require(SEMVER.test(r.stdout), {
      expected: 'podinfo prints a semantic version',
      observed: `stdout: ${r.stdout.trim() || '(empty)'}`,
      hint: 'is the command `/home/app/podinfo --version`?',
      cause: 'podinfo printed no version',
    });
  });
});

/** N1: no nerdctl at the lesson's path; `found` is one in a folder nearby. */
function diagnoseMissingNerdctl(path: string, found: string[]): Diagnosis {
  if (found.length)
    return {
      observed: `${path} is missing; found ${found.join(', ')}`,
      hint: `the lesson installs nerdctl as ${path}`,
      cause: 'nerdctl is installed in another folder',
    };
  return {
    observed: `${path} is missing`,
    hint: `lesson step ${installNerdctl.step}: \`install -m 755 nerdctl ${dirname(path)}\``,
    cause: 'nerdctl is not installed',
  };
}

/** N2: `nerdctl run` without the bridge plugin did not fail as the lesson shows. */
function diagnoseRunWithoutBridge(r: CommandResult): Diagnosis {
  if (r.exitCode === 0)
    return {
      observed: observedCommand(r),
      hint: 'CNI plugins are already installed',
      cause: 'nerdctl found a bridge plugin',
    };
  return {
    observed: observedCommand(r),
    hint: 'it failed for another reason: see stderr',
    cause: 'nerdctl run fails for another reason',
  };
}
