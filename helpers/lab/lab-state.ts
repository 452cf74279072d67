/** What a sandbox lab is made of, as its lab.json keeps it: read by the lab, its teardown and
 * `lab --down`. */
import type { AptArtifacts } from '../sources/apt-source.ts';
import type { ReleaseFiles } from '../sources/github-source.ts';
import type { PodinfoBuild } from '../sources/go-source.ts';
import type { SourceSpec } from '../sources/source-spec.ts';

export const LABS_ROOT = process.env.LC_LABS_ROOT ?? '/var/lib/lesson-check/labs';

/** Deliberate mistakes a lab can be built with, so the project's tests can prove checks fail. */
export const FAULTS = ['config-without-systemd-cgroup', 'runc-not-executable'] as const;
export type Fault = (typeof FAULTS)[number];

export interface LabState {
  id: string;
  prefix: string;
  source: SourceSpec;
  faults: Fault[];
  /** Debian packages: the lab's registry and busybox always, the lesson's binaries for `apt`. */
  artifacts?: AptArtifacts;
  /** The lesson's release assets, for `github`, `go` and `dir:`. */
  release?: ReleaseFiles;
  /** podinfo built from its module (the go source): the lab's podinfo image is the real program. */
  podinfo?: PodinfoBuild;
  /** Why this source: the `auto` choice, or that it was asked for. */
  sourceChoice: string[];
  /** The lab's own default network for nerdctl (its bridge and subnet), written with the CNI plugins. */
  nerdctlNetwork?: { bridge: string; subnet: string };
  /** Host paths outside the prefix that existed before the lab (teardown leaves those alone). */
  hostTracesBefore: string[];
  profileFile: string;
  /** The network namespace the lab was made in (its inode): its links and forwarding claim are
   * there, wherever `lab --down` runs. */
  netns?: number;
  registry?: { port: number; pid: number; url: string };
  containerd?: { pid: number };
}
