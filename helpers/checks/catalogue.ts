/**
 * The check catalogue: the one table of the lesson's checks. Each check's ID, stage, the fact it
 * proves, its lesson section (and so its step), weight, what it needs and is judged after, the
 * name of the lesson step it performs when walking, what it also proves when inspecting, and
 * whether it talks to containerd. The suites (suites/) add only what code must say: a check's
 * body, its step's commands, its probes and diagnoses (`check('R2', body)`). The coach, the grade,
 * the board and the docs read this table: docs/CHECKS.md (`npm run catalogue`) and docs/GRADING.md
 * (`npm run grading`) are made from it.
 */

/** A section of the lesson: where a failure sends the reader back to. */
export interface Section {
  /** As the reports, the coach and the board show it: "Install runc (step 3)". */
  readonly name: string;
  /** Its step in the lesson; the prerequisites have none. */
  readonly step?: number;
}

/** A numbered section of the lesson: `${title} (step ${step})`. */
function numbered(title: string, step: number): Section & { readonly step: number } {
  return { name: `${title} (step ${step})`, step };
}

/** The lesson's sections, in its order. A hint that names a step says `lesson step ${s.step}`. */
export const SECTIONS = {
  prerequisites: { name: 'Prerequisites' } as Section,
  installContainerd: numbered('Install containerd', 1),
  meetCtr: numbered('Meet ctr', 2),
  installRunc: numbered('Install runc', 3),
  configureContainerd: numbered('Configure containerd', 4),
  installNerdctl: numbered('Install nerdctl', 5),
  installCniPlugins: numbered('Install the CNI plugins', 6),
  runPodinfo: numbered('Run podinfo', 7),
} as const;

/** The section called `name` (as a report holds it), if it is one of the lesson's. */
export function sectionNamed(name: string): Section | undefined {
  return Object.values(SECTIONS).find((s) => s.name === name);
}

/** The stages: one suite module each, one JUnit testsuite each, in lesson order. */
export const STAGES = {
  host: '00 host',
  containerd: '10 containerd',
  runc: '20 runc',
  nerdctl: '30 nerdctl',
  cni: '40 cni',
} as const;

export type Stage = (typeof STAGES)[keyof typeof STAGES];

/** A check as the table holds it. */
interface Entry {
  stage: Stage;
  /** The fact it proves, in the lesson's words: its title is "<ID> <fact>". */
  fact: string;
  /** The lesson section a failure sends the reader back to. */
  section: Section;
  /** Points in a grade (default 1). */
  weight?: number;
  /** Earlier checks that must have passed for this one to be meaningful (in the order they are
   * asked: the first that did not pass is the one named). */
  needs?: readonly string[];
  /** Of `needs`, those this check may run alongside when inspecting, since its commands do no
   * harm whatever those find: it starts once the others have passed, and is judged only once these
   * have too; if one did not pass, the check is stopped and blocked by it, as ever. For the checks
   * on the longest chain of needs (C1 → C2 → C3 → R6 → K4). Walking, every need comes first. */
  judgedAfter?: readonly string[];
  /** Walking: the lesson step it performs first (or whose absence it proves), in the lesson's words. */
  step?: string;
  /** Inspecting: what it also proves, a fact a walk cannot get wrong but a student's host can. */
  inspecting?: string;
  /** It talks to containerd, which answered when C2 ran: a failure is asked whether containerd
   * went away meanwhile. False for the checks before C2, and for C2, which says itself whether
   * containerd answers. */
  needsDaemon: boolean;
  /** One of the lesson's expected failures: this check passes (the failure is as the lesson shows
   * it) while `until`, the check of the step that ends it, has not passed yet. The coach shows it
   * as a milestone, in these words. */
  milestone?: { until: string; says: string };
}

const { prerequisites, installContainerd, meetCtr, installRunc, configureContainerd } = SECTIONS;
const { installNerdctl, installCniPlugins, runPodinfo } = SECTIONS;
const { host, containerd, runc, nerdctl, cni } = STAGES;

/** The table, in ID order (the reports' order). The suites declare the checks in the order a walk
 * performs them, which differs in one place: R5 before R4. */
const ENTRIES = {
  H1: { stage: host, fact: 'the lesson runs as root', section: prerequisites, weight: 0, needsDaemon: false },
  H2: {
    stage: host,
    fact: 'the host is Linux on amd64 or arm64',
    section: prerequisites,
    weight: 0,
    needsDaemon: false,
  },
  H3: {
    stage: host,
    fact: 'overlay, cgroups and network namespaces are usable',
    section: prerequisites,
    weight: 0,
    needs: ['H1'],
    needsDaemon: false,
  },
  H4: {
    stage: host,
    fact: 'the tools the lesson uses are present',
    section: prerequisites,
    weight: 0,
    needsDaemon: false,
  },
  C1: {
    stage: containerd,
    fact: 'containerd, ctr and the runc shim are installed at the pinned version',
    section: installContainerd,
    weight: 2,
    needs: ['H1'],
    judgedAfter: ['H1'],
    step: 'install containerd into /usr/local/bin',
    needsDaemon: false,
  },
  C2: {
    stage: containerd,
    fact: 'containerd runs as a service and answers on its socket',
    section: installContainerd,
    weight: 2,
    needs: ['C1'],
    judgedAfter: ['C1'],
    step: 'start containerd (systemctl enable --now containerd)',
    needsDaemon: false,
  },
  C3: {
    stage: containerd,
    fact: "ctr pulls the lesson's hello image and lists it",
    section: meetCtr,
    needs: ['C2'],
    judgedAfter: ['C2'],
    needsDaemon: true,
  },
  R1: {
    stage: runc,
    fact: 'ctr run fails before runc is installed, and leaves no container',
    section: meetCtr,
    needs: ['C3'],
    step: 'ctr run before runc is installed',
    inspecting: "no other runc on containerd's PATH",
    needsDaemon: true,
    milestone: {
      until: 'R2',
      says: '`ctr run` fails for want of runc: the failure the lesson wants you to see; read on',
    },
  },
  R2: {
    stage: runc,
    fact: 'runc is installed at /usr/local/sbin with mode 0755 at the pinned version',
    section: installRunc,
    weight: 2,
    step: 'install -m 755 runc into /usr/local/sbin',
    needsDaemon: true,
  },
  R3: {
    stage: runc,
    fact: 'config.toml says version 3 and sets SystemdCgroup to the boolean true',
    section: configureContainerd,
    weight: 2,
    step: 'write /etc/containerd/config.toml',
    needsDaemon: true,
  },
  R4: {
    stage: runc,
    fact: 'the effective config (containerd config dump) has SystemdCgroup = true',
    section: configureContainerd,
    needs: ['C1', 'R3'],
    needsDaemon: true,
  },
  R5: {
    stage: runc,
    fact: 'containerd was restarted after config.toml was last written',
    section: configureContainerd,
    // R3 first: without a readable config.toml there is nothing to restart for, and that is R3's mistake
    needs: ['C2', 'R3'],
    step: 'systemctl restart containerd',
    needsDaemon: true,
  },
  R6: {
    stage: runc,
    fact: 'ctr run succeeds once runc is installed, prints the greeting, and leaves no container',
    section: installRunc,
    weight: 2,
    // R2 first: a runc that is missing or not executable is R2's one mistake, not R6's too
    needs: ['C3', 'R2'],
    needsDaemon: true,
  },
  N1: {
    stage: nerdctl,
    fact: 'nerdctl is installed with mode 0755 at the pinned version, with bash completion',
    section: installNerdctl,
    weight: 2,
    needs: ['H1'],
    step: 'install nerdctl and its bash completion',
    needsDaemon: true,
  },
  N2: {
    stage: nerdctl,
    fact: 'nerdctl run fails for want of the bridge CNI plugin',
    section: installNerdctl,
    needs: ['N1', 'C2', 'R6'],
    step: 'nerdctl run before the CNI plugins are installed',
    needsDaemon: true,
    milestone: {
      until: 'K1',
      says: 'nerdctl fails for want of the CNI plugins: the failure the lesson wants you to see; read on',
    },
  },
  N3: {
    stage: nerdctl,
    fact: "nerdctl run --net host prints podinfo's version",
    section: installNerdctl,
    needs: ['N1', 'C2', 'R6'],
    needsDaemon: true,
  },
  K1: {
    stage: cni,
    fact: 'the CNI plugins are in /opt/cni/bin, answer VERSION, and bridge is the pinned release',
    section: installCniPlugins,
    weight: 2,
    needs: ['H1'],
    step: 'unpack the CNI plugins into /opt/cni/bin',
    needsDaemon: true,
  },
  K2: {
    stage: cni,
    fact: 'nerdctl runs podinfo detached and nerdctl ps shows it Up',
    section: runPodinfo,
    weight: 2,
    needs: ['N1', 'K1', 'C2', 'R6'],
    step: 'nerdctl run -d --name podinfo podinfo',
    needsDaemon: true,
  },
  K3: {
    stage: cni,
    fact: "podinfo's bridge IP is in nerdctl's subnet and answers GET / with its version",
    section: runPodinfo,
    weight: 2,
    needs: ['K2'],
    needsDaemon: true,
  },
  K4: {
    stage: cni,
    fact: "the host's bridge and host-local plugins wire a ctr container that answers HTTP",
    section: installCniPlugins,
    needs: ['C2', 'K1', 'R6'],
    // the probe's set-up takes as long as R6's `ctr run`: inspecting, the two run side by side
    judgedAfter: ['R6'],
    needsDaemon: true,
  },
} as const satisfies Record<string, Entry>;

/** A check's stable ID: reports, grades and `--only` use it. */
export type CheckId = keyof typeof ENTRIES;

/** A catalogue check, every field given. */
export interface CatalogueCheck {
  id: CheckId;
  stage: Stage;
  fact: string;
  /** "<ID> <fact>": the vitest test's title, and so JUnit's. */
  title: string;
  section: Section;
  weight: number;
  needs: readonly CheckId[];
  judgedAfter: readonly CheckId[];
  step?: string;
  inspecting?: string;
  needsDaemon: boolean;
  milestone?: { until: CheckId; says: string };
}

/** Every check, in ID order. */
export const CATALOGUE: readonly CatalogueCheck[] = validated(
  Object.entries(ENTRIES).map(([id, e]: [string, Entry]) => {
    const { milestone, ...rest } = e;
    return {
      ...rest,
      id: id as CheckId,
      title: `${id} ${e.fact}`,
      weight: e.weight ?? 1,
      needs: (e.needs ?? []) as readonly CheckId[],
      judgedAfter: (e.judgedAfter ?? []) as readonly CheckId[],
      ...(milestone ? { milestone: { until: milestone.until as CheckId, says: milestone.says } } : {}),
    };
  }),
);

/** Whether `id` is a check of the catalogue. */
export function isCheckId(id: string): id is CheckId {
  return Object.hasOwn(ENTRIES, id);
}

/** The catalogue's check `id`. */
export function catalogued(id: CheckId): CatalogueCheck {
  return CATALOGUE.find((c) => c.id === id)!;
}

/** The table holds together: what a check needs, is judged after or waits for is an earlier
 * check of the catalogue; a check is judged after only checks it needs. */
function validated(checks: CatalogueCheck[]): CatalogueCheck[] {
  const order = (x: string) => checks.findIndex((c) => c.id === x);
  const stages = Object.values(STAGES);
  for (const [i, c] of checks.entries()) {
    for (const need of c.needs)
      if (!(order(need) >= 0 && order(need) < i))
        throw new Error(`${c.id} needs ${need}, which is not an earlier check of the catalogue`);
    for (const later of c.judgedAfter)
      if (!c.needs.includes(later)) throw new Error(`${c.id} is judged after ${later}, which it does not need`);
    if (c.milestone && order(c.milestone.until) < 0)
      throw new Error(`${c.id}'s milestone lasts until ${c.milestone.until}, which is no check of the catalogue`);
    if (i > 0 && stages.indexOf(c.stage) < stages.indexOf(checks[i - 1]!.stage))
      throw new Error(`${c.id} is listed after a check of a later stage`);
  }
  return checks;
}
