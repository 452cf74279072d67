// Stage 20: without runc, `ctr run` fails for exactly that reason; with runc and the lesson's
// version 3 config.toml (SystemdCgroup = true), loaded by a restarted containerd, it runs the
// hello image. Walking, it performs lesson steps 2 (the failing run), 3 and 4; inspecting, it
// proves R1 with a runc binary name that exists nowhere, and runs its probes in its own namespace.
import { dirname } from 'node:path';
import { check, fail, observedCommand, require, stage } from '../helpers/checks.ts';
import { RUNC_OPTIONS_PATH, V2_RUNC_OPTIONS_PATH, describeValue, parseToml, valueAt } from '../helpers/config-toml.ts';
import { ctrIn, ctrRun } from '../helpers/containerd.ts';
import { findElsewhere, nearMisses } from '../helpers/diagnose.ts';
import { parseVersion } from '../helpers/lab/apt-source.ts';
import { processAndFileAges, runcsOnDaemonPath, serviceStatus } from '../helpers/service.ts';

const SETTING = 'plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options.SystemdCgroup';
const configure = 'Configure containerd (step 4)';
const missingExecutable = (name: string) => `exec: "${name}": executable file not found in $PATH`;

stage('20 runc', () => {
  check(
    'R1 ctr run fails before runc is installed, and leaves no container',
    { section: 'Meet ctr (step 2)', needs: ['C3'] },
    async (c) => {
      const { host, profile, namespace } = c;
      // walking: runc is really absent; inspecting: the same run told to use a runc that exists nowhere
      const runc = c.walking ? 'runc' : c.probeName('absent-runc');
      const name = c.walking ? 'hello' : c.probeName('r1');
      if (c.walking) {
        require(!(await host.stat(profile.paths.runc)), {
          expected: `before step 3, no runc at ${profile.paths.runc}`,
          observed: `${profile.paths.runc} exists`,
          hint: 'the walkthrough needs a host without runc',
        });
      }
      const flags = c.walking ? ['--rm'] : ['--rm', '--runc-binary', runc];
      const r = await host.run(ctrRun(profile, { namespace, flags }, profile.images.hello, name), {
        timeoutMs: 60_000,
      });
      require(r.exitCode !== 0 && r.stderr.includes(missingExecutable(runc)), {
        expected: `\`ctr run\` fails with \`${missingExecutable(runc)}\``,
        observed: observedCommand(r),
        hint:
          r.exitCode === 0
            ? "a runc is already on containerd's PATH (a distribution package in /usr/bin or /usr/sbin?)"
            : 'the run failed for another reason than the missing runc: see stderr',
        cause: r.exitCode === 0 ? 'a runc was found where none should be' : 'ctr run fails for another reason',
      });
      const left = (await host.capture(ctrIn(profile, namespace, 'containers', 'ls', '-q'))).split(/\n/);
      require(!left.includes(name), {
        expected: 'the failed run leaves no container record',
        observed: `container "${name}" is still listed`,
        hint: `remove it: \`ctr containers rm ${name}\``,
        cause: 'a container record was left behind',
      });
      if (!c.walking) {
        // the counterfactual names a runc that exists nowhere; a runc of another install on the
        // daemon's PATH would be found by name once the lesson's is gone, and the run would not fail
        const { pid } = await serviceStatus(host, profile);
        const lessons = (await host.run(['readlink', '-e', profile.paths.runc])).stdout.trim() || profile.paths.runc;
        const others = pid ? (await runcsOnDaemonPath(host, pid)).filter((f) => f !== lessons) : [];
        require(others.length === 0, {
          expected: `no runc on containerd's PATH but the lesson's ${profile.paths.runc}`,
          observed: `containerd's PATH also holds ${others.join(', ')}`,
          hint: "a runc from another install (a distribution package: apt install runc) is found by containerd's shim whenever the lesson's is missing, so `ctr run` cannot fail for want of runc; remove that package",
          cause: "another runc is on containerd's PATH",
        });
      }
    },
  );

  check(
    'R2 runc is installed at /usr/local/sbin with mode 0755 at the pinned version',
    { section: 'Install runc (step 3)', weight: 2 },
    async (c) => {
      const { host, profile } = c;
      if (c.walking) await c.step('install -m 755 runc into /usr/local/sbin', () => c.walk!.installRunc());
      const st = await host.stat(profile.paths.runc);
      if (!st) {
        const elsewhere = await findElsewhere(
          host,
          'runc',
          [dirname(profile.paths.containerd), dirname(profile.paths.runc)],
          1,
        );
        const named = await findElsewhere(
          host,
          'runc.amd64',
          [dirname(profile.paths.runc), dirname(profile.paths.containerd)],
          1,
        );
        const found = [...elsewhere, ...named];
        fail({
          expected: `runc at ${profile.paths.runc}`,
          observed: `${profile.paths.runc} is missing${found.length ? `; found ${found.join(', ')}` : ''}`,
          hint: found.length
            ? `the lesson installs runc as ${profile.paths.runc} (the name without .amd64, in sbin)`
            : 'lesson step 3: `install -m 755 runc.amd64 /usr/local/sbin/runc`',
          cause: found.length ? 'runc is installed under another name or folder' : 'runc is not installed',
        });
      }
      require(st.mode === '0755', {
        expected: `${profile.paths.runc} has mode 0755`,
        observed: `mode ${st.mode}`,
        hint: 'lesson step 3 installs with `install -m 755`; `cp` or a download leaves it non-executable',
        cause:
          (parseInt(st.mode, 8) & 0o111) === 0
            ? 'runc is not executable'
            : "runc has other permissions than the lesson's",
      });
      const r = await host.run([profile.paths.runc, '--version']);
      const version = parseVersion(r.stdout);
      const wrongArch = /exec format error/i.test(r.spawnError ?? r.stderr);
      require(r.exitCode === 0 && version === profile.versions.runc, {
        expected: `runc ${profile.versions.runc}`,
        observed: r.exitCode === 0 ? `runc reports ${version}` : observedCommand(r),
        hint: wrongArch
          ? 'runc was built for another architecture: download the asset for this machine (runc.amd64 or runc.arm64)'
          : `lesson step 3 downloads runc v${profile.versions.runc}`,
        cause: wrongArch ? 'runc is built for another architecture' : `runc ${version} instead of the pinned release`,
        dependentsMayRun: r.exitCode === 0,
      });
    },
  );

  check(
    'R3 config.toml says version 3 and sets SystemdCgroup to the boolean true',
    { section: configure, weight: 2 },
    async (c) => {
      const { host, profile } = c;
      if (c.walking) await c.step('write /etc/containerd/config.toml', () => c.walk!.writeConfig());
      const file = profile.paths.configToml;
      const text = await host.readFile(file);
      if (text === undefined) {
        const others = (await findElsewhere(host, '*.toml', [dirname(file)], 1)).filter((f) => f !== file);
        fail({
          expected: `${file} exists`,
          observed: `${file} is missing${others.length ? `; found ${others.join(', ')}` : ''}`,
          hint: others.length
            ? `containerd reads ${file}, not another name`
            : 'lesson step 4 writes /etc/containerd/config.toml',
          cause: others.length ? 'the config file has another name' : 'config.toml is missing',
        });
      }
      const parsed = parseToml(text, file);
      if (!parsed.ok)
        fail({
          expected: `${file} is valid TOML`,
          observed: `${parsed.where}: ${parsed.message}`,
          hint: 'fix the TOML syntax at that line; containerd will not start with it',
          cause: `config.toml is not valid TOML (${parsed.where})`,
        });
      const version = parsed.doc.version;
      require(version === 3, {
        expected: `${file} says \`version = 3\``,
        observed: `version = ${describeValue(version)}`,
        hint: 'containerd 2.x configs start with `version = 3`; version 2 uses other plugin names',
        cause: 'the config is not a version 3 config',
        dependentsMayRun: true,
      });
      const options = valueAt(parsed.doc, RUNC_OPTIONS_PATH);
      const value = valueAt(parsed.doc, [...RUNC_OPTIONS_PATH, 'SystemdCgroup']);
      const underV2 = valueAt(parsed.doc, [...V2_RUNC_OPTIONS_PATH, 'SystemdCgroup']);
      const misspelt = nearMisses(options, 'SystemdCgroup');
      const [hint, cause] =
        typeof value === 'string'
          ? [
              'a quoted "true" is a string, and containerd wants the bare boolean',
              'SystemdCgroup is a string, not a boolean',
            ]
          : underV2 !== undefined
            ? [
                'version 3 moved the runtime options to plugins."io.containerd.cri.v1.runtime"',
                'SystemdCgroup is set under the version 2 plugin name',
              ]
            : misspelt.length
              ? [
                  `TOML keys are case-sensitive: ${misspelt.join(', ')} is not SystemdCgroup`,
                  'the SystemdCgroup key is misspelt',
                ]
              : value === false
                ? ['SystemdCgroup is set, to false', 'SystemdCgroup is false']
                : [
                    'lesson step 4: the runc options table of the "io.containerd.cri.v1.runtime" plugin, with SystemdCgroup',
                    'SystemdCgroup is not set',
                  ];
      require(value === true, {
        expected: `${SETTING} = true (a boolean)`,
        observed: `SystemdCgroup = ${describeValue(value)}${underV2 !== undefined ? '; set under the version 2 plugin "io.containerd.grpc.v1.cri"' : ''}${misspelt.length ? `; found ${misspelt.join(', ')}` : ''}`,
        hint,
        cause,
        dependentsMayRun: true,
      });
    },
  );

  check(
    'R5 containerd was restarted after config.toml was last written',
    { section: configure, needs: ['C2'] },
    async (c) => {
      const { host, profile } = c;
      const ages = async () => {
        const service = await serviceStatus(host, profile);
        if (!service.pid)
          fail({
            expected: service.expected,
            observed: service.problem ?? 'no PID for containerd',
            hint: service.hint,
            cause: 'containerd is not running',
          });
        const measured = await processAndFileAges(host, service.pid, profile.paths.configToml);
        if (measured.file === undefined)
          fail({
            expected: `${profile.paths.configToml} exists`,
            observed: 'it is missing',
            hint: 'lesson step 4 writes it',
            cause: 'config.toml is missing',
          });
        return { daemon: measured.process, config: measured.file, resolution: measured.resolution };
      };
      if (c.walking) {
        const before = await ages();
        require(before.daemon > before.config, {
          expected: 'before the restart, the daemon predates config.toml',
          observed: `daemon up ${before.daemon.toFixed(2)} s, config written ${before.config.toFixed(2)} s ago`,
          hint: 'the walkthrough wrote config.toml after starting containerd; R5 must see that',
        });
        host.note(
          `before restart: daemon up ${before.daemon.toFixed(2)} s, config.toml written ${before.config.toFixed(2)} s ago (stale, as expected)`,
        );
        await c.step('systemctl restart containerd', () => c.walk!.restartContainerd());
      }
      const now = await ages();
      // within one clock tick the order cannot be told; no one edits and restarts that fast by hand
      require(now.daemon <= now.config + now.resolution, {
        expected: 'containerd started after config.toml was last written (so it runs with that config)',
        observed: `daemon up ${now.daemon.toFixed(3)} s, config.toml written ${now.config.toFixed(3)} s ago`,
        hint: 'config.toml changed after containerd started: `systemctl restart containerd`',
        cause: 'config.toml was changed after containerd last started',
      });
    },
  );

  check(
    'R4 the effective config (containerd config dump) has SystemdCgroup = true',
    { section: configure, needs: ['C1', 'R3'] },
    async ({ host, profile }) => {
      const r = await host.run([profile.paths.containerd, '--config', profile.paths.configToml, 'config', 'dump']);
      if (r.exitCode !== 0)
        fail({
          expected: 'containerd accepts the config and dumps it',
          observed: observedCommand(r),
          hint: 'containerd rejects this config.toml; the error names the problem',
          cause: 'containerd rejects config.toml',
        });
      const parsed = parseToml(r.stdout, 'containerd config dump');
      if (!parsed.ok)
        fail({
          expected: 'containerd config dump prints TOML',
          observed: `${parsed.where}: ${parsed.message}`,
          hint: 'unexpected output from containerd config dump',
        });
      const value = valueAt(parsed.doc, [...RUNC_OPTIONS_PATH, 'SystemdCgroup']);
      require(value === true, {
        expected: `the merged config has ${SETTING} = true`,
        observed: `SystemdCgroup = ${describeValue(value)} after merging imports and defaults`,
        hint:
          value === false
            ? "false is containerd's default: nothing in config.toml (or a file it imports) sets it to true"
            : 'config.toml or a file it imports sets it to something else',
        cause: "containerd's effective config does not enable SystemdCgroup",
      });
    },
  );

  check(
    'R6 ctr run succeeds once runc is installed, prints the greeting, and leaves no container',
    { section: 'Install runc (step 3)', weight: 2, needs: ['C3'] },
    async (c) => {
      const { host, profile, namespace } = c;
      const name = c.walking ? 'hello' : c.probeName('r6');
      const r = await host.run(ctrRun(profile, { namespace, flags: ['--rm'] }, profile.images.hello, name), {
        timeoutMs: 60_000,
      });
      if (r.exitCode !== 0) {
        const runcMissing = r.stderr.includes(missingExecutable('runc'));
        fail({
          expected: `\`ctr run --rm ${profile.images.hello} hello\` succeeds`,
          observed: observedCommand(r),
          hint: runcMissing
            ? 'containerd finds no executable runc on its PATH: is runc in /usr/local/sbin, and executable?'
            : 'see stderr: runc or the image is at fault',
          cause: runcMissing ? 'containerd cannot execute runc' : 'ctr run fails',
        });
      }
      const pattern = profile.expect.helloOutput;
      require(pattern ? new RegExp(pattern).test(r.stdout) : r.stdout.trim() !== '', {
        expected: pattern ? `output matching /${pattern}/` : 'the image prints its greeting',
        observed: `stdout: ${r.stdout.trim() || '(empty)'}`,
        hint: "the container ran but printed something else: is it the lesson's image?",
        cause: 'the container printed something else',
      });
      const left = (await host.capture(ctrIn(profile, namespace, 'containers', 'ls', '-q'))).split(/\n/);
      require(!left.includes(name), {
        expected: '--rm leaves no container record',
        observed: `container "${name}" is still listed`,
        hint: `remove it: \`ctr containers rm ${name}\``,
        cause: 'a container record was left behind',
      });
    },
  );
});
