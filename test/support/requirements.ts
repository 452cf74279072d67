/**
 * What a test needs of this machine, in one place: root, the tools the tests' set-up installs
 * (`scripts/install-deps.sh test`, which `npm test` runs first), npm's registry, and a few facts
 * of the host. A test or block declares its needs (`needs(AS_ROOT, NSPAWN).describe(…)`):
 *
 * - all met: it runs;
 * - run by hand, one unmet: it is skipped, its title saying why
 *   (`… [skipped: needs systemd-nspawn: not on PATH (scripts/install-deps.sh test installs …)]`);
 * - under `CI=true`, where the set-up has run and the tests run as root (.ci/run), a missing tool
 *   of the set-up or root fails it at once, naming what is missing: a CI run never passes by
 *   skipping what it was meant to run;
 * - in the unit tier (`npm run test:unit`, LC_TEST_TIER=unit), what needs root (a lab, a machine,
 *   a VM, sshd), QEMU, systemd-nspawn, npm's registry or Ansible is skipped, saying so, in CI too.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestFunction, type TestOptions } from 'vitest';

export interface Need {
  /** How a title names it: `root`, `systemd-nspawn`. */
  name: string;
  /** What is seen instead (`not on PATH`, `uid 1000`), or undefined when it holds. */
  missing(): string | undefined;
  /** Where it comes from: `Debian's systemd-container (scripts/install-deps.sh test)`. */
  from?: string;
  /** Why it must hold under CI=true (the set-up installs it; CI runs as root); unset: it need not. */
  ci?: string;
  /** The unit tier runs nothing that needs it. */
  heavy?: boolean;
}

/** The tier a run asked for: `unit` runs nothing that needs root, a machine, a VM, npm's registry or Ansible. */
export const UNIT_TIER = process.env.LC_TEST_TIER === 'unit';
const CI = process.env.CI === 'true';

/** Whether `command` (a name looked up on PATH, or an absolute path) is an executable file. */
function executable(command: string): boolean {
  const candidates = command.includes('/')
    ? [command]
    : (process.env.PATH ?? '')
        .split(':')
        .filter(Boolean)
        .map((dir) => join(dir, command));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** A command the tests' set-up installs from Debian's `pkg`. */
function tool(command: string, pkg: string, heavy = false): Need {
  return {
    name: command.split('/').pop()!,
    missing: () => (executable(command) ? undefined : command.includes('/') ? `no ${command}` : 'not on PATH'),
    from: `Debian's ${pkg}, which scripts/install-deps.sh test installs`,
    ci: "the tests' set-up installs it (scripts/install-deps.sh test, which npm test runs first)",
    heavy,
  };
}

/** Root: the lab, the machines, the sources' end-to-end runs, sshd (root logs in by key). */
export const AS_ROOT: Need = {
  name: 'root',
  missing: () => (process.getuid?.() === 0 ? undefined : `running as uid ${process.getuid?.()}`),
  ci: 'CI runs the tests as root (.ci/run)',
  heavy: true,
};
/** The nspawn machine: systemd-nspawn boots a rootfs debootstrap made. */
export const NSPAWN = tool('systemd-nspawn', 'systemd-container', true);
export const DEBOOTSTRAP = tool('debootstrap', 'debootstrap', true);
/** The VM: QEMU, and socat for its registry's forward. */
export const QEMU = tool('qemu-system-x86_64', 'qemu-system-x86', true);
export const SOCAT = tool('socat', 'socat', true);
/** Debian's chromium, at the path the HTML report's test starts it from. */
export const CHROMIUM = tool('/usr/bin/chromium', 'chromium');
/** Debian's OpenSSH server, at the absolute path sshd insists on (test/sshd.ts). */
export const SSHD = tool('/usr/sbin/sshd', 'openssh-server');
/** ansible-inventory and ansible-vault (Debian's ansible-core). Heavy: comparing the readers runs
 * Ansible some 200 times, a minute of CPU on its own (more than the whole unit tier may take). */
export const ANSIBLE = tool('ansible-inventory', 'ansible-core', true);
/** npm's registry: `npm install -g` of the packed tarball fetches its dependencies' metadata. */
export const NPM_REGISTRY: Need = { name: "npm's registry", missing: () => undefined, heavy: true };
/** A host whose init is not systemd (where `walkthrough --yes` refuses rather than walks). */
export const NOT_SYSTEMD_INIT: Need = {
  name: 'an init that is not systemd',
  missing: () => (existsSync('/run/systemd/system') ? 'systemd is this host’s init' : undefined),
};

/** What `needs()` decided for a test or a block of them. */
export interface Gate {
  /** Why they cannot run here (undefined: they run). */
  readonly unmet: string | undefined;
  /** Under CI=true: what must be there and is not, which fails them. */
  readonly ciFailure: string | undefined;
  /** `describe`, skipped with the reason, or failing under CI. */
  describe(title: string, fn: () => void): void;
  describe(title: string, options: TestOptions, fn: () => void): void;
  /** `test`, skipped with the reason, or failing under CI. */
  test(title: string, fn: TestFunction, timeout?: number): void;
  test(title: string, options: TestOptions, fn: TestFunction): void;
}

/** The gate of a test or a block that needs all of `wanted`. */
export function needs(...wanted: Need[]): Gate {
  const heavy = wanted.filter((n) => n.heavy);
  const absent = wanted.flatMap((need) => {
    const seen = need.missing();
    return seen === undefined ? [] : [{ need, seen }];
  });
  let unmet: string | undefined;
  let ciFailure: string | undefined;
  let mustBeHere = '';
  if (UNIT_TIER && heavy.length) {
    unmet = `npm run test:unit runs nothing that needs ${heavy.map((n) => n.name).join(', ')}`;
  } else if (absent.length) {
    const said = absent.map(({ need, seen }) => `${need.name}: ${seen}${need.from ? ` (${need.from})` : ''}`);
    unmet = `needs ${said.join('; ')}`;
    const required = absent.filter(({ need }) => need.ci);
    if (CI && required.length) {
      mustBeHere = required.map(({ need }) => need.name).join(', ');
      ciFailure =
        required.map(({ need, seen }) => `${need.name} is missing under CI=true (${seen}): ${need.ci}`).join('; ') +
        '. A CI run must not pass by skipping what needs it.';
    }
  }
  const skipped = (title: string) => {
    // by hand, the default reporter counts skips without naming them: say here why these are
    if (!ciFailure && !UNIT_TIER) console.warn(`skipped: ${title}: it ${unmet}`);
    return `${title} [skipped: ${unmet}]`;
  };
  const failNow = () => {
    throw new Error(ciFailure);
  };
  return {
    unmet,
    ciFailure,
    describe(title: string, ...rest: [() => void] | [TestOptions, () => void]) {
      if (!unmet) return describe(title, ...(rest as [TestOptions, () => void]));
      describe.skip(skipped(title), ...(rest as [TestOptions, () => void]));
      // one test that fails at once, naming what is missing; the block's own are listed, skipped
      if (ciFailure) test(`${title}: ${mustBeHere} must be here under CI=true`, failNow);
    },
    test(title: string, ...rest: [TestFunction, number?] | [TestOptions, TestFunction]) {
      if (!unmet) return test(title, ...(rest as [TestOptions, TestFunction]));
      if (ciFailure) return test(title, failNow);
      test.skip(skipped(title), ...(rest as [TestOptions, TestFunction]));
    },
  };
}
