// Stage 20: without runc, `ctr run` fails for exactly that reason; with runc v1.4.0 and the
// lesson's version 3 config.toml (SystemdCgroup = true), loaded by a restarted containerd, it
// runs the hello image. Walking, it performs lesson steps 2 (the failing run), 3 and 4.
import { check, fail, observedCommand, require, stage } from '../helpers/checks.ts';
import { RUNC_OPTIONS_PATH, V2_RUNC_OPTIONS_PATH, describeValue, parseToml, valueAt } from '../helpers/config-toml.ts';
import { ctr, ctrRun } from '../helpers/containerd.ts';
import { parseVersion } from '../helpers/lab/apt-source.ts';
import { daemonAgeSeconds, fileAgeSeconds, serviceStatus } from '../helpers/service.ts';

const RUNC_MISSING = 'exec: "runc": executable file not found in $PATH';
const SETTING = 'plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options.SystemdCgroup';

stage('20 runc', () => {
  check('R1', 'ctr run fails before runc is installed, and leaves no container', { needs: ['C3'] }, async ({ host, profile, walking }) => {
    if (walking) {
      const runc = await host.stat(profile.paths.runc);
      require(!runc, { expected: `before step 3, no runc at ${profile.paths.runc}`, observed: `${profile.paths.runc} exists`, hint: 'the walkthrough needs a host without runc' });
    }
    const r = await host.run(ctrRun(profile, { flags: ['--rm'] }, profile.images.hello, 'hello'), { timeoutMs: 60_000 });
    require(r.exitCode !== 0 && r.stderr.includes(RUNC_MISSING), {
      expected: `\`ctr run\` fails with \`${RUNC_MISSING}\``,
      observed: observedCommand(r),
      hint: r.exitCode === 0 ? 'a runc is already on containerd\'s PATH (a distribution package in /usr/bin or /usr/sbin?)' : 'the run failed for another reason than the missing runc: see stderr',
    });
    const left = (await host.capture(ctr(profile, 'containers', 'ls', '-q'))).split('\n');
    require(!left.includes('hello'), { expected: 'the failed run leaves no container record', observed: 'container "hello" is still listed', hint: 'remove it: `ctr containers rm hello`' });
  });

  check('R2', 'runc is installed at /usr/local/sbin with mode 0755 at the pinned version', {}, async (c) => {
    const { host, profile } = c;
    if (c.walking) await c.step('install -m 755 runc into /usr/local/sbin', () => c.lab!.installRunc());
    const st = await host.stat(profile.paths.runc);
    if (!st) fail({ expected: `runc at ${profile.paths.runc}`, observed: `${profile.paths.runc} is missing`, hint: 'lesson step 3: `install -m 755 runc.amd64 /usr/local/sbin/runc`' });
    require(st.mode === '0755', { expected: `${profile.paths.runc} has mode 0755`, observed: `mode ${st.mode}`, hint: 'lesson step 3 installs with `install -m 755`; `cp` or a download keeps it non-executable' });
    const r = await host.run([profile.paths.runc, '--version']);
    const version = parseVersion(r.stdout);
    require(r.exitCode === 0 && version === profile.versions.runc, {
      expected: `runc ${profile.versions.runc}`,
      observed: r.exitCode === 0 ? `runc reports ${version}` : observedCommand(r),
      hint: `lesson step 3 downloads runc v${profile.versions.runc} for this machine's architecture`,
    });
  });

  check('R3', 'config.toml says version 3 and sets SystemdCgroup to the boolean true', {}, async (c) => {
    const { host, profile } = c;
    if (c.walking) await c.step('write /etc/containerd/config.toml', () => c.lab!.writeConfig());
    const file = profile.paths.configToml;
    const text = await host.readFile(file);
    if (text === undefined) fail({ expected: `${file} exists`, observed: `${file} is missing`, hint: 'lesson step 4 writes /etc/containerd/config.toml' });
    const parsed = parseToml(text, file);
    if (!parsed.ok) fail({ expected: `${file} is valid TOML`, observed: `${parsed.where}: ${parsed.message}`, hint: 'fix the TOML syntax at that line; containerd will not start with it' });
    const version = parsed.doc.version;
    require(version === 3, { expected: `${file} says \`version = 3\``, observed: `version = ${describeValue(version)}`, hint: 'containerd 2.x configs start with `version = 3`; version 2 uses other plugin names' });
    const value = valueAt(parsed.doc, [...RUNC_OPTIONS_PATH, 'SystemdCgroup']);
    const underV2 = valueAt(parsed.doc, [...V2_RUNC_OPTIONS_PATH, 'SystemdCgroup']);
    require(value === true, {
      expected: `${SETTING} = true (a boolean)`,
      observed: `SystemdCgroup = ${describeValue(value)}${underV2 !== undefined ? '; it is set under the version 2 plugin "io.containerd.grpc.v1.cri"' : ''}`,
      hint: typeof value === 'string' ? 'a quoted "true" is a string; containerd wants the bare boolean' : underV2 !== undefined ? 'version 3 moved runtime options to plugins."io.containerd.cri.v1.runtime"' : 'lesson step 4: the [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options] table with SystemdCgroup = true',
    });
  });

  check('R5', 'containerd was restarted after config.toml was last written', { needs: ['C2'] }, async (c) => {
    const { host, profile } = c;
    const ages = async () => {
      const service = await serviceStatus(host, profile);
      if (!service.pid) fail({ expected: service.expected, observed: service.problem ?? 'no PID for containerd', hint: service.hint });
      if (!(await host.stat(profile.paths.configToml))) fail({ expected: `${profile.paths.configToml} exists`, observed: 'it is missing', hint: 'lesson step 4 writes it' });
      return { daemon: await daemonAgeSeconds(host, service.pid), config: await fileAgeSeconds(host, profile.paths.configToml) };
    };
    if (c.walking) {
      const before = await ages();
      require(before.daemon > before.config, { expected: 'before the restart, the daemon predates config.toml', observed: `daemon up ${before.daemon.toFixed(2)} s, config written ${before.config.toFixed(2)} s ago`, hint: 'the walkthrough wrote config.toml after starting containerd; R5 must see that' });
      host.note(`before restart: daemon up ${before.daemon.toFixed(2)} s, config.toml written ${before.config.toFixed(2)} s ago (stale, as expected)`);
      await c.step('systemctl restart containerd', () => c.lab!.restartContainerd());
    }
    const now = await ages();
    require(now.daemon <= now.config, {
      expected: 'containerd started after config.toml was last written (so it runs with that config)',
      observed: `daemon up ${now.daemon.toFixed(2)} s, config.toml written ${now.config.toFixed(2)} s ago`,
      hint: 'config.toml changed after containerd started: `systemctl restart containerd`',
    });
  });

  check('R4', 'the effective config (containerd config dump) has SystemdCgroup = true', { needs: ['C1'] }, async ({ host, profile }) => {
    const r = await host.run([profile.paths.containerd, '--config', profile.paths.configToml, 'config', 'dump']);
    if (r.exitCode !== 0) fail({ expected: 'containerd accepts the config and dumps it', observed: observedCommand(r), hint: 'containerd rejects this config.toml; the error names the problem' });
    const parsed = parseToml(r.stdout, 'containerd config dump');
    if (!parsed.ok) fail({ expected: 'containerd config dump prints TOML', observed: `${parsed.where}: ${parsed.message}`, hint: 'unexpected output from containerd config dump' });
    const value = valueAt(parsed.doc, [...RUNC_OPTIONS_PATH, 'SystemdCgroup']);
    require(value === true, { expected: `the merged config has ${SETTING} = true`, observed: `SystemdCgroup = ${describeValue(value)} after merging imports and defaults`, hint: 'check config.toml and any file it imports: an import may override the setting' });
  });

  check('R6', 'ctr run succeeds once runc is installed, prints the greeting, and leaves no container', { needs: ['C3'] }, async ({ host, profile }) => {
    const r = await host.run(ctrRun(profile, { flags: ['--rm'] }, profile.images.hello, 'hello'), { timeoutMs: 60_000 });
    if (r.exitCode !== 0) fail({ expected: `\`ctr run --rm ${profile.images.hello} hello\` succeeds`, observed: observedCommand(r), hint: 'is runc executable and on containerd\'s PATH (/usr/local/sbin)? `ls -l /usr/local/sbin/runc`' });
    const pattern = profile.expect.helloOutput;
    require(pattern ? new RegExp(pattern).test(r.stdout) : r.stdout.trim() !== '', { expected: pattern ? `output matching /${pattern}/` : 'the image prints its greeting', observed: `stdout: ${r.stdout.trim() || '(empty)'}`, hint: 'the container ran but printed something else: is it the lesson\'s image?' });
    const left = (await host.capture(ctr(profile, 'containers', 'ls', '-q'))).split('\n');
    require(!left.includes('hello'), { expected: '--rm leaves no container record', observed: 'container "hello" is still listed', hint: 'remove it: `ctr containers rm hello`' });
  });
});
