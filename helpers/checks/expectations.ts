/**
 * The facts several checks share, each a named expectation that owns its four-part failure
 * (expected, observed, hint, cause), as goss's matchers and nerdctl's test expectations do. A
 * check body walks its lesson step, observes, works out its diagnosis, and asserts with these and
 * with `require`.
 */
import { SECTIONS, type Section } from './catalogue.ts';
import { type CheckDetails, fail, observedCommand, require } from './check.ts';
import type { Parsed } from '../system/config-toml.ts';
import { ctrIn } from '../system/containerd.ts';
import type { FileStat, Host } from '../host/host.ts';
import type { Profile } from '../profile.ts';
import type { CommandResult } from '../host/transport.ts';

/** What a diagnosis works out from an observation: the failure's observed, hint and cause. */
export type Diagnosis = Pick<CheckDetails, 'observed' | 'hint'> & { cause: string };

/** Walking: before the lesson's section `before` (its step), none of `paths` exists (the walk
 * needs a fresh host). */
export async function expectAbsentBeforeStep(
  host: Host,
  before: Section,
  paths: string[],
  absent: { what: string; hostWithout: string },
): Promise<void> {
  const present = [...(await host.statAll(paths))].filter(([, st]) => st).map(([p]) => p);
  require(present.length === 0, {
    expected: `before step ${before.step}, no ${absent.what}`,
    observed: paths.length === 1 ? `${present[0]} exists` : `already present: ${present.join(', ')}`,
    hint: `the walkthrough needs a host without ${absent.hostWithout}`,
  });
}

/** `path` has the lesson's mode: `0755` exactly (`install -m 755`), or `executable` by everyone
 * (a release tarball's modes, kept by tar). */
export function expectMode(
  path: string,
  st: FileStat,
  mode: '0755' | 'executable',
  why: Pick<CheckDetails, 'hint' | 'dependentsMayRun'> & { cause: string },
): void {
  if (mode === 'executable') {
    require(st.type === 'regular file' && (parseInt(st.mode, 8) & 0o111) === 0o111, {
      expected: `${path} is an executable file`,
      observed: `${st.type}, mode ${st.mode}`,
      ...why,
    });
  } else require(st.mode === mode, { expected: `${path} has mode ${mode}`, observed: `mode ${st.mode}`, ...why });
}

/** Whether a file mode lets nobody execute it (the usual slip: a download or `cp` without -m). */
export function notExecutable(st: FileStat): boolean {
  return (parseInt(st.mode, 8) & 0o111) === 0;
}

/**
 * `tool` reports the lesson's pinned release. `run` is its `--version` run: when it failed, the
 * failure shows the command. Another version still runs the lesson, so the checks that need this
 * one still run and say whether it works.
 */
export function expectPinnedVersion(v: {
  tool: string;
  pinned: string;
  version: string;
  run?: CommandResult;
  /** Default: `<tool> <pinned>`. */
  expected?: string;
  /** What the tool said; default: `<tool> reports <version>`. */
  reported?: string;
  hint: string;
  /** Default: `<tool> <version> instead of the pinned release`. */
  cause?: string;
}): void {
  const ran = !v.run || v.run.exitCode === 0;
  require(ran && v.version === v.pinned, {
    expected: v.expected ?? `${v.tool} ${v.pinned}`,
    observed: ran ? (v.reported ?? `${v.tool} reports ${v.version}`) : observedCommand(v.run!),
    hint: v.hint,
    cause: v.cause ?? `${v.tool} ${v.version} instead of the pinned release`,
    dependentsMayRun: ran,
  });
}

/** The container `name` that a run made (or `--rm` should have removed) is not listed. */
export async function expectNoContainerLeft(
  host: Host,
  profile: Profile,
  namespace: string | undefined,
  name: string,
  expected: string,
): Promise<void> {
  const listed = (await host.capture(ctrIn(profile, namespace, 'containers', 'ls', '-q'))).split(/\n/);
  require(!listed.includes(name), {
    expected,
    observed: `container "${name}" is still listed`,
    hint: `remove it: \`ctr containers rm ${name}\``,
    cause: 'a container record was left behind',
  });
}

/** Fails with a diagnosis worked out beforehand. */
export function failWith(expected: string, diagnosis: Diagnosis, more: Partial<CheckDetails> = {}): never {
  fail({ expected, ...diagnosis, ...more });
}

/** Walking: before the lesson installs the CNI plugins no CNI plugin is installed (N2 must see
 * nerdctl fail for want of the bridge plugin; K1 installs it). */
export async function expectNoCniPluginsYet(host: Host, profile: Profile): Promise<void> {
  const bridge = `${profile.paths.cniBinDir}/bridge`;
  await expectAbsentBeforeStep(host, SECTIONS.installCniPlugins, [bridge], {
    what: 'bridge plugin',
    hostWithout: 'CNI plugins',
  });
}

/** TOML that parsed: its document. Otherwise the failure says where the syntax broke; `cause`
 * gets that place as its argument. */
export function expectParsedToml(
  parsed: Parsed,
  why: { expected: string; hint: string; cause?: (where: string) => string },
): Record<string, unknown> {
  if (!parsed.ok)
    fail({
      expected: why.expected,
      observed: `${parsed.where}: ${parsed.message}`,
      hint: why.hint,
      ...(why.cause ? { cause: why.cause(parsed.where) } : {}),
    });
  return parsed.doc;
}
