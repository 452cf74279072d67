// Issue 34: what a graded host answers is its root's to write. The address its bridge plugin
// gives K4 is used (a URL curl is run on) only when it is an IPv4 address in the probe's subnet;
// the probes' temp folders are mktemp's own, in /tmp, never a path that could be made first, and
// a path mktemp did not print is not used (nor removed). Run against a scripted host, and (the
// folders, the sweep) against this machine.
import { lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { bridgeProbe } from '../helpers/system/cni-probe.ts';
import { makePrivateDir } from '../helpers/system/containerd.ts';
import { Host } from '../helpers/host/host.ts';
import { lessonProfile } from '../helpers/profile.ts';
import { removeRunTraces } from '../helpers/run/run-traces.ts';
import { type CommandResult, LocalTransport, type RunOptions, type Transport } from '../helpers/host/transport.ts';
import { AS_ROOT, needs } from './support/requirements.ts';

function result(argv: string[], stdout = '', exitCode = 0): CommandResult {
  return { argv, exitCode, stdout, stderr: '', durationMs: 1, timedOut: false, cancelled: false, timeoutMs: 1000 };
}

/** A host that answers every command with exit 0: mktemp as `mktemp` says, the bridge plugin's
 * CNI ADD with `add(subnet)`, and records what it was asked. */
class ScriptedHost implements Transport {
  readonly host = 'scripted';
  readonly asked: string[][] = [];
  constructor(
    private readonly add: (subnet: string) => string,
    private readonly mktemp: (template: string) => string = (t) => t.replace(/X{6}$/, 'Ab12Cd'),
  ) {}

  run(argv: string[], options: RunOptions = {}): Promise<CommandResult> {
    return Promise.resolve(this.answer(argv, options));
  }

  private answer(argv: string[], options: RunOptions): CommandResult {
    this.asked.push(argv);
    if (argv[0] === 'mktemp') return result(argv, `${this.mktemp(argv.at(-1)!)}\n`);
    if (argv[0]?.endsWith('/bridge') && options.env?.CNI_COMMAND === 'ADD') {
      const subnet = (JSON.parse(options.input!) as { ipam: { ranges: Array<Array<{ subnet: string }>> } }).ipam
        .ranges[0]![0]!.subnet;
      return result(argv, this.add(subnet));
    }
    if (argv[0] === 'curl') return result(argv, '{"version":"6.9.4"}');
    return result(argv);
  }

  commands(name: string): string[][] {
    return this.asked.filter((a) => a[0] === name || a[0]?.endsWith(`/${name}`));
  }
}

const addAnswer = (address: unknown) => JSON.stringify({ cniVersion: '1.0.0', ips: [{ address }] });
const inSubnet = (subnet: string, last: number) => `${subnet.replace(/\.0\/24$/, `.${last}`)}/24`;

describe("K4 uses the bridge plugin's address only when it is one", () => {
  test('an IPv4 address in the subnet host-local was given: podinfo runs, curl asks it', async () => {
    const scripted = new ScriptedHost((subnet) => addAnswer(inSubnet(subnet, 2)));
    const probe = await bridgeProbe(new Host(scripted), lessonProfile(), 'aa11bb');
    expect(probe.answer?.url).toMatch(/^http:\/\/10\.\d+\.\d+\.2:9898\/$/);
    expect(probe.answer?.http.ok).toBe(true);
    expect(scripted.commands('curl').at(-1)).toContain(probe.answer!.url);
  });

  const refused: Array<[string, (subnet: string) => string]> = [
    ['a host name', () => addAnswer('evil.example/24')],
    ['a URL of its own', () => addAnswer('10.1.1.1@evil.example:80/x')],
    ['an address with more in it', (s) => addAnswer(`${inSubnet(s, 2)} --output /etc/passwd`)],
    ['octal, read by curl as another address', () => addAnswer('010.001.002.003/24')],
    ['an address outside the subnet', () => addAnswer('169.254.169.254/24')],
    ['IPv6', () => addAnswer('fd00::2/64')],
    ['no address', () => JSON.stringify({ ips: [] })],
    ['not a string', () => addAnswer({ toString: 'x' })],
    ['not JSON', () => 'CNI bridge plugin says hello'],
  ];
  for (const [what, add] of refused)
    test(`${what}: neither used nor polled, given back as it came, and everything undone`, async () => {
      const scripted = new ScriptedHost(add);
      const probe = await bridgeProbe(new Host(scripted), lessonProfile(), 'aa11bb');
      expect(probe.answer).toBeUndefined();
      expect(scripted.commands('curl')).toEqual([]);
      // podinfo is not started for an address nobody will ask
      expect(scripted.asked.some((a) => a.includes('run'))).toBe(false);
      expect(probe.wiring.stdout).toBe(add(probe.wiring.subnet));
      // CNI DEL, then the data dir mktemp made
      expect(scripted.commands('bridge')).toHaveLength(2);
      expect(scripted.commands('rm')).toEqual([['rm', '-rf', '--', '/tmp/lesson-check-lc-aa11bb-k4.Ab12Cd']]);
    });

  test("host-local's data dir is a new mktemp folder in /tmp named after the run, given to the plugin", async () => {
    const scripted = new ScriptedHost((subnet) => addAnswer(inSubnet(subnet, 2)));
    await bridgeProbe(new Host(scripted), lessonProfile(), 'aa11bb');
    expect(scripted.commands('mktemp')).toEqual([['mktemp', '-d', '/tmp/lesson-check-lc-aa11bb-k4.XXXXXX']]);
  });
});

describe('a temp folder on the host is mktemp’s own', () => {
  test('a path mktemp did not print, or of another shape, is refused and not removed', async () => {
    const odd = ['/', '/etc', '/tmp/lesson-check-lc-aa11bb-k4', '/tmp/lesson-check-lc-aa11bb-k4.Ab12Cd/../..', ''];
    for (const printed of odd) {
      const scripted = new ScriptedHost(
        () => '',
        () => printed,
      );
      await expect(makePrivateDir(new Host(scripted), 'lesson-check-lc-aa11bb-k4')).rejects.toThrow(
        /mktemp -d \/tmp\/lesson-check-lc-aa11bb-k4\.XXXXXX` printed ".*", not the path of a new folder/,
      );
    }
    const scripted = new ScriptedHost(
      () => '',
      () => '/',
    );
    const probe = bridgeProbe(new Host(scripted), lessonProfile(), 'aa11bb');
    await expect(probe).rejects.toThrow(/printed "\/"/);
    expect(scripted.commands('rm')).toEqual([]);
  });

  test('on this machine: a new folder of mode 0700 beside a link put at the guessable name', async () => {
    const name = `lc-hv${process.pid}-n2`;
    symlinkSync('/etc', `/tmp/${name}`);
    try {
      const dir = await makePrivateDir(new Host(new LocalTransport()), name);
      expect(dir).toMatch(new RegExp(`^/tmp/${name}\\.[A-Za-z0-9]{6}$`));
      const st = lstatSync(dir);
      expect([st.isDirectory(), st.mode & 0o777]).toEqual([true, 0o700]);
      rmSync(dir, { recursive: true });
    } finally {
      rmSync(`/tmp/${name}`);
    }
  });

  needs(AS_ROOT).test("the sweep of a run cut short finds the probes' folders (K4's, nerdctl's)", async () => {
    const host = new Host(new LocalTransport());
    const runId = `hv${process.pid}`;
    const k4 = await makePrivateDir(host, `lesson-check-lc-${runId}-k4`);
    const n2 = await makePrivateDir(host, `lc-${runId}-n2`);
    mkdirSync(`${k4}/net`);
    await removeRunTraces(host, lessonProfile(), runId, { probesCutShort: true });
    expect([k4, n2].filter((d) => lstatSync(d, { throwIfNoEntry: false }))).toEqual([]);
  });
});
