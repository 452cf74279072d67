// Stage 40: the CNI plugins v1.9.0 are in /opt/cni/bin, podinfo runs on nerdctl's bridge and
// answers on its IP, and (without nerdctl) the host's own plugins wire a container that answers
// HTTP. Walking, it installs the CNI plugins and runs podinfo as the lesson does.
import { isIPv4 } from 'node:net';
import { dirname } from 'node:path';
import { SECTIONS, STAGES } from '../helpers/checks/catalogue.ts';
import { type CheckDetails, check, observedCommand, require, stage } from '../helpers/checks/check.ts';
import { type Wiring, bridgeProbe } from '../helpers/system/cni-probe.ts';
import { nerdctl } from '../helpers/system/containerd.ts';
import { findElsewhere, neighbourDirs } from '../helpers/checks/diagnose.ts';
import {
  type Diagnosis,
  expectNoCniPluginsYet,
  expectPinnedVersion,
  failWith,
  notExecutable,
} from '../helpers/checks/expectations.ts';
import { clip, firstLine } from '../helpers/host/host-text.ts';
import { type HttpPoll, pollHttpGet } from '../helpers/system/http.ts';
import { ipInSubnet } from '../helpers/net/ipv4.ts';
import { parseCniVersion } from '../helpers/system/versions.ts';

const { installCniPlugins, runPodinfo } = SECTIONS;

stage(STAGES.cni, () => {
  check(
    'K1',
    {
      step: {
        before: ({ host, profile }) => expectNoCniPluginsYet(host, profile),
        perform: (c) => c.walk!.installCniPlugins(),
      },
    },
    async (c) => {
      const { host, profile } = c;
      const dir = profile.paths.cniBinDir;
      // every plugin asked at once (and bridge for its version), judged in order
      const [about, ...answers] = await Promise.all([
        host.run([`${dir}/bridge`]),
        ...profile.expect.cniPlugins.map((plugin) =>
          host.run([`${dir}/${plugin}`], { env: { CNI_COMMAND: 'VERSION' }, input: '{}' }),
        ),
      ]);
      const problems: string[] = [];
      const silent: string[] = [];
      for (const [i, plugin] of profile.expect.cniPlugins.entries()) {
        const r = answers[i]!;
        if (r.spawnError || r.exitCode !== 0) {
          problems.push(`${plugin}: ${r.spawnError ?? `exit ${r.exitCode}`}`);
          silent.push(`${dir}/${plugin}`);
        } else if (!/"supportedVersions"/.test(r.stdout))
          problems.push(`${plugin}: no supportedVersions in ${r.stdout.trim()}`);
      }
      // there, but not executable: copied one by one, or unpacked without keeping the modes
      const stats = await host.statAll(silent);
      const modes = silent.flatMap((f) => {
        const st = stats.get(f);
        return st && notExecutable(st) ? [`${f} has mode ${st.mode}`] : [];
      });
      require(modes.length === 0, {
        expected: `${profile.expect.cniPlugins.join(', ')} in ${dir}, each executable`,
        observed: modes.join('; '),
        hint: `the plugins tarball keeps their modes: unpack it with tar (\`tar xzvofC … ${dir}\`)`,
        cause: 'some CNI plugins are not executable',
      });
      if (problems.length) {
        // the usual mistake: unpacked one level too high or too deep, or into a bin dir
        const elsewhere = (
          await findElsewhere(host, 'bridge', [...neighbourDirs(dir), dirname(profile.paths.containerd)], 3)
        ).filter((f) => f !== `${dir}/bridge`);
        const expected = `${profile.expect.cniPlugins.join(', ')} in ${dir}, each answering CNI_COMMAND=VERSION`;
        failWith(expected, diagnoseMissingPlugins(dir, problems, elsewhere));
      }
      const version = parseCniVersion(about.stderr);
      // the plugins answered: K1 asked no `--version` run that could fail
      expectPinnedVersion({
        tool: 'CNI plugins',
        pinned: profile.versions.cniPlugins,
        version,
        expected: `the bridge plugin reports ${profile.versions.cniPlugins}`,
        reported: `it reports ${version}: ${firstLine(about.stderr)}`,
        // a distribution's build (Debian's containernetworking-plugins) may not know its release
        ...(version === 'unknown'
          ? {
              hint:
                "a build that does not know its release (a distribution package's?): " +
                `lesson step ${installCniPlugins.step} downloads the CNI plugins v${profile.versions.cniPlugins}`,
              cause: 'the CNI plugins are another build than the pinned release',
            }
          : {
              hint: `lesson step ${installCniPlugins.step} downloads the CNI plugins v${profile.versions.cniPlugins}`,
            }),
      });
    },
  );

  check(
    'K2',
    {
      step: {
        perform: ({ host, profile }) =>
          host.ensure(nerdctl(profile, {}, 'run', '-d', '--name', profile.expect.podinfoName, profile.images.podinfo), {
            timeoutMs: 120_000,
          }),
      },
    },
    async (c) => {
      const { host, profile } = c;
      const name = profile.expect.podinfoName;
      // -a: a stopped podinfo is "not running", not "missing"
      const ps = await host.run(nerdctl(profile, {}, 'ps', '-a', '--format', '{{.Names}} {{.Image}} {{.Status}}'));
      require(ps.exitCode === 0, {
        expected: 'nerdctl ps answers',
        observed: observedCommand(ps),
        hint: 'is containerd running?',
      });
      // "<name> <image> <status>" per line; a running container's status starts with "Up"
      const rows = ps.stdout.split(/\n/).map((l) => {
        const [n = '', image = '', ...status] = l.trim().split(/\s+/);
        return { name: n, image, status: status.join(' ') };
      });
      const row = rows.find((r) => r.name === name);
      if (!row?.status.startsWith('Up')) {
        const others = rows.filter((r) => r.image === profile.images.podinfo && r.status.startsWith('Up'));
        failWith(
          `a container named ${name} is Up`,
          diagnosePodinfoNotUp(name, profile.images.podinfo, row?.status, others),
        );
      }
    },
  );

  check('K3', async ({ host, profile }) => {
    const name = profile.expect.podinfoName;
    const ip = (
      await host.capture(nerdctl(profile, {}, 'inspect', '--format', '{{ .NetworkSettings.IPAddress }}', name))
    ).trim();
    // host text, put in a URL below: an IPv4 address or nothing
    require(ip === '' || isIPv4(ip), {
      expected: "nerdctl inspect gives podinfo's IPv4 address",
      observed: `nerdctl inspect gives ${quoted(ip)}, which is no IPv4 address`,
      hint: `is nerdctl the lesson's release? \`nerdctl inspect ${name}\` shows what it says`,
      cause: 'nerdctl inspect gives no valid IP',
    });
    require(ipInSubnet(ip, profile.expect.nerdctlSubnet), {
      expected: `podinfo's IP lies in nerdctl's bridge subnet ${profile.expect.nerdctlSubnet}`,
      observed: `nerdctl inspect gives ${ip || '(no IP)'}`,
      hint: 'a container run with --net host has no bridge IP; run it without --net',
      cause: "podinfo is not on nerdctl's bridge network",
    });
    const url = `http://${ip}:${profile.expect.podinfoPort}/`;
    const got = await pollHttpGet(host, url);
    if (!got.ok) {
      // run with its own --port: podinfo answers, on another port than the lesson's
      const args = await host.run(nerdctl(profile, {}, 'inspect', '--format', '{{json .Args}}', name));
      const given = portArgument(args.stdout);
      const port = given === undefined ? undefined : validPort(given);
      require(given === undefined || port !== undefined, {
        expected: `podinfo listens on port ${profile.expect.podinfoPort}`,
        observed: `podinfo was started with --port ${quoted(given ?? '')}, which is no port (1-65535)`,
        hint: `the lesson runs podinfo as its image starts it, on port ${profile.expect.podinfoPort}`,
        cause: 'podinfo was started with an invalid --port',
      });
      require(port === undefined || port === profile.expect.podinfoPort, {
        expected: `podinfo listens on port ${profile.expect.podinfoPort}`,
        observed: `podinfo was started with --port ${port}; ${observedCommand(got.last)}`,
        hint: `the lesson runs podinfo as its image starts it, on port ${profile.expect.podinfoPort}`,
        cause: `podinfo listens on port ${port}, not ${profile.expect.podinfoPort}`,
      });
    }
    requirePodinfoAnswered(url, got, profile.expect.podinfoPort);
  });

  check('K4', async ({ host, profile, info }) => {
    const probe = await bridgeProbe(host, profile, info.runId);
    require(probe.answer, () => diagnoseBadAddress(profile.paths.cniBinDir, probe.wiring));
    requirePodinfoAnswered(probe.answer.url, probe.answer.http, profile.expect.podinfoPort);
  });
});

/** K1: some plugins did not answer; `elsewhere` is a bridge plugin found in a neighbouring folder. */
function diagnoseMissingPlugins(dir: string, problems: string[], elsewhere: string[]): Diagnosis {
  if (elsewhere.length)
    return {
      observed: `${problems.join('; ')}; a bridge plugin is at ${elsewhere.join(', ')}`,
      hint: `the plugins were unpacked into another folder: they belong directly in ${dir}`,
      cause: 'the CNI plugins were unpacked into the wrong folder',
    };
  return {
    observed: problems.join('; '),
    hint:
      `lesson step ${installCniPlugins.step}: \`mkdir -p ${dir}\` and unpack the plugins tarball there ` +
      `with \`tar xzvofC … ${dir}\``,
    cause: 'CNI plugins are missing',
  };
}

/** K2: podinfo is not Up; `status` is nerdctl ps's, or undefined when there is no such container;
 * `others` are containers of podinfo's image that are Up under another name. */
function diagnosePodinfoNotUp(
  name: string,
  image: string,
  status: string | undefined,
  others: Array<{ name: string }>,
): Diagnosis {
  const hint =
    `lesson step ${runPodinfo.step}: \`nerdctl run -d --name ${name} ${image}\`; ` +
    `\`nerdctl logs ${name}\` says why it stopped`;
  if (status === undefined && others.length)
    return {
      observed: `no container named ${name}; podinfo's image runs as ${others.map((o) => o.name).join(', ')}`,
      hint: `the lesson names the container ${name} (\`--name ${name}\`)`,
      cause: 'podinfo runs under another name',
    };
  if (status === undefined)
    return { observed: `no container named ${name} in nerdctl ps`, hint, cause: 'there is no podinfo container' };
  return { observed: `nerdctl ps: ${name} ${status}`, hint, cause: 'podinfo is not running' };
}

/** K4: CNI ADD gave no address, or one that is no IPv4 address in the subnet host-local was given. */
function diagnoseBadAddress(dir: string, { address, subnet, stdout }: Wiring): CheckDetails {
  return {
    expected: `CNI ADD gives the container an IPv4 address in ${subnet}, the range host-local was given`,
    observed:
      address === undefined
        ? `CNI ADD printed no address: ${quoted(stdout, 200)}`
        : `CNI ADD gave the address ${quoted(address)}`,
    hint:
      `are ${dir}/bridge and ${dir}/host-local the CNI plugins' own? ` +
      `run without CNI_COMMAND, \`${dir}/bridge\` says which release it is`,
    cause: 'the bridge plugin gives no valid address',
  };
}

/** A value read from the host that is not what it should be, quoted and clipped. */
function quoted(value: string, max = 80): string {
  return JSON.stringify(clip(value, max));
}

/** A port as a number, when `text` is one (1-65535). */
function validPort(text: string): number | undefined {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : 0;
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** The value of podinfo's `--port N` or `--port=N`, from nerdctl inspect's JSON list of its
 * arguments, as given (host text: validPort says whether it is a port). */
function portArgument(json: string): string | undefined {
  let args: unknown;
  try {
    args = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!Array.isArray(args)) return undefined;
  const words = args.map(String);
  for (const [i, w] of words.entries()) {
    const value = w === '--port' ? words[i + 1] : /^--port=(.*)$/.exec(w)?.[1];
    if (value !== undefined) return value;
  }
  return undefined;
}

/** GET http://ip:port/ answered 200 with JSON carrying `version`. */
function requirePodinfoAnswered(url: string, got: HttpPoll, port: number): void {
  require(got.ok, {
    expected: `GET ${url} answers 200`,
    observed: `${observedCommand(got.last)} (${got.attempts} attempts in ${got.elapsedMs} ms, limit ${got.limitMs} ms)`,
    hint: `is podinfo listening on ${port} inside the container, and is the bridge up?`,
    cause: 'podinfo does not answer on its bridge IP',
  });
  let version: unknown;
  try {
    version = (JSON.parse(got.last.stdout) as { version?: unknown }).version;
  } catch {
    version = undefined;
  }
  require(typeof version === 'string' && version !== '', {
    expected: `GET ${url} answers JSON carrying "version"`,
    observed: `body: ${got.last.stdout.slice(0, 200)}`,
    hint: 'something else answers on that address: is it podinfo?',
    cause: 'something other than podinfo answers',
  });
}
