// As root, on this machine's real network stack: IPv4 forwarding, which the bridge plugin turns on
// for the whole host, is put back by the last bridge probe to let go, however runs overlap; and
// the end-of-run sweep removes what a probe cut short leaves (its netns, bridge, IPAM dir and
// claim), while a run whose probes all finished is not swept at all.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { claimForwarding, releaseForwarding } from '../helpers/net/forwarding.ts';
import { Host } from '../helpers/host/host.ts';
import { lessonProfile } from '../helpers/profile.ts';
import { removeRunTraces } from '../helpers/run/run-traces.ts';
import { LocalTransport } from '../helpers/host/transport.ts';
import { AS_ROOT, needs } from './support/requirements.ts';

const FORWARD = '/proc/sys/net/ipv4/ip_forward';
const CLAIMS = '/run/lesson-check-ip-forward';
const forwarding = () => readFileSync(FORWARD, 'utf8').trim();
// what the bridge plugin does on CNI ADD for a gateway bridge
const bridgePluginTurnsItOn = () => writeFileSync(FORWARD, '1');

needs(AS_ROOT).describe('IPv4 forwarding and the sweep of a run cut short', () => {
  const host = new Host(new LocalTransport());
  // the lesson's paths hold no containerd here: the sweep's namespace part finds nothing
  const profile = lessonProfile();
  let before: string;

  beforeAll(() => {
    before = forwarding();
    writeFileSync(FORWARD, '0');
  });
  afterAll(() => {
    writeFileSync(FORWARD, before);
  });

  test('two probes overlapping: the first one out leaves it on, the last one out turns it back off', async () => {
    await claimForwarding(host, 'aaaaaa');
    bridgePluginTurnsItOn();
    // the second finds it on, as the old "put back what you found" did, and would have left it on
    await claimForwarding(host, 'bbbbbb');
    bridgePluginTurnsItOn();
    await releaseForwarding(host, 'aaaaaa');
    expect(forwarding()).toBe('1');
    await releaseForwarding(host, 'bbbbbb');
    expect(forwarding()).toBe('0');
    expect(existsSync(CLAIMS)).toBe(false);
  });

  test('found on, it stays on', async () => {
    writeFileSync(FORWARD, '1');
    await claimForwarding(host, 'cccccc');
    await releaseForwarding(host, 'cccccc');
    expect(forwarding()).toBe('1');
    writeFileSync(FORWARD, '0');
  });

  test('claims are kept per network namespace: one held here keeps no other namespace on', async () => {
    // a lab in a namespace of its own (unshare -n) beside a run on the host's
    await claimForwarding(host, 'gg33hh');
    bridgePluginTurnsItOn();
    const netns = 'lc-fwtest-claims';
    await execa('ip', ['netns', 'add', netns]);
    const local = new LocalTransport();
    const inNetns = new Host({
      host: netns,
      run: (argv, options) => local.run(['ip', 'netns', 'exec', netns, ...argv], options),
    });
    const there = async () => (await inNetns.capture(['cat', FORWARD])).trim();
    try {
      // a new namespace may inherit the host's value (net.core.devconf_inherit_init_net)
      await inNetns.ensure(['sysctl', '-qw', 'net.ipv4.ip_forward=0']);
      await claimForwarding(inNetns, 'ii44jj');
      await inNetns.ensure(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      await releaseForwarding(inNetns, 'ii44jj');
      expect(await there()).toBe('0');
      expect(forwarding()).toBe('1');
    } finally {
      await execa('ip', ['netns', 'delete', netns]);
    }
    await releaseForwarding(host, 'gg33hh');
    expect(forwarding()).toBe('0');
    expect(existsSync(CLAIMS)).toBe(false);
  });

  /** What a K4 probe leaves when its process dies after CNI ADD. */
  async function leftovers(runId: string): Promise<string> {
    await execa('ip', ['netns', 'add', `lc-${runId}-k4`]);
    await execa('ip', ['link', 'add', `lc${runId}k4`, 'type', 'bridge']);
    const ipamDir = `/tmp/lesson-check-lc-${runId}-k4`;
    mkdirSync(ipamDir, { recursive: true });
    await claimForwarding(host, runId);
    bridgePluginTurnsItOn();
    return ipamDir;
  }
  const netnsOf = async (runId: string) => (await execa('ip', ['netns', 'list'])).stdout.includes(`lc-${runId}-k4`);
  const linkOf = async (runId: string) => (await execa('ip', ['-o', 'link', 'show'])).stdout.includes(`lc${runId}k4`);

  test('a run cut short: its netns, bridge and IPAM dir go, and forwarding is turned back off', async () => {
    const runId = 'dd11ee';
    const ipamDir = await leftovers(runId);
    await removeRunTraces(host, profile, runId, { probesCutShort: true });
    expect([await netnsOf(runId), await linkOf(runId), existsSync(ipamDir)]).toEqual([false, false, false]);
    expect(forwarding()).toBe('0');
    expect(existsSync(CLAIMS)).toBe(false);
  });

  test('a run whose probes all finished is not swept (they undid their own)', async () => {
    const runId = 'ff22aa';
    const ipamDir = await leftovers(runId);
    await removeRunTraces(host, profile, runId, { probesCutShort: false });
    expect([await netnsOf(runId), await linkOf(runId), existsSync(ipamDir)]).toEqual([true, true, true]);
    // the same traces, now as a run cut short: all gone
    await removeRunTraces(host, profile, runId, { probesCutShort: true });
    expect([await netnsOf(runId), await linkOf(runId), existsSync(ipamDir), forwarding()]).toEqual([
      false,
      false,
      false,
      '0',
    ]);
  });
});
