import { Host } from '../host/host.ts';
import { copyAssetsTo } from '../sources/github-source.ts';
import { copyPodinfoTo } from '../sources/go-source.ts';
import { resolveRelease } from '../sources/release.ts';
import { consoleProgress, showProgress } from '../util/progress.ts';
import { trapSignals } from '../run/signals.ts';
import { LocalTransport } from '../host/transport.ts';
import { UsageError, noPositionals, parseOptions, sourceOption, sourceOptions } from './options.ts';
import { resolve } from 'node:path';
import { ENV, declareCommand } from './usage.ts';

export const FETCH_COMMAND = declareCommand({
  name: 'fetch',
  synopsis: ['fetch --to DIR [--source github|go] [--mirror URL] [--insecure-mirror] [--pin P]'],
  about:
    "Gathers the lesson's release assets into a folder, checksums verified, for a lab on a host without " +
    'network (lab --source dir:DIR): from GitHub (or a mirror), or with --source go built here from the ' +
    "releases' Go modules, podinfo too. What could not be fetched is said, role by role.",
  options: {
    to: { type: 'string', arg: 'DIR', help: 'the folder to fill (needed)' },
    ...sourceOptions('the release assets, or built here from their Go modules (default: github)'),
  },
  writes: "the assets in --to DIR; the github or go source's cache, kept for the next run",
  exits: '0 fetched (what was not is said), 2 usage or fetch error, 128+N ended by signal N',
  env: [ENV.githubCache, ENV.goCache, ENV.go],
});

/** `lesson-check fetch`: the github or go source's assets, verified, into a folder for `--source dir:DIR`. */
export async function fetchCommand(args: string[]): Promise<number> {
  const { values: opts, positionals } = parseOptions(FETCH_COMMAND, args);
  noPositionals('fetch', positionals);
  if (!opts.to) throw new UsageError('fetch needs --to DIR');
  const source = sourceOption(opts, 'github');
  if (source.kind !== 'github' && source.kind !== 'go')
    throw new UsageError('fetch gathers the github source (optionally through --mirror) or the go source');
  const host = new Host(new LocalTransport());
  showProgress(consoleProgress({ format: 'pretty', quiet: false }));
  const to = resolve(opts.to);
  // Ctrl-C cancels the downloads and builds (their own process groups), which remove their scratch
  const interrupt = new AbortController();
  host.signal = interrupt.signal;
  const signals = trapSignals((sig) => {
    console.error(`\nlesson-check: ${sig} received: stopping`);
    interrupt.abort();
  });
  try {
    // whatever could not be fetched is said below, role by role
    const { release, podinfo } = await resolveRelease(host, source, { apt: false, mayLack: 'any' });
    const copied = copyAssetsTo(release, to);
    if (podinfo) {
      // the go source built podinfo too: a dir: lab serves the real one
      copyPodinfoTo(podinfo, to);
      copied.push('podinfo/');
    }
    for (const note of release.notes) console.log(`lesson-check: ${note}`);
    for (const [role, why] of Object.entries(release.missing))
      console.error(`lesson-check: ${role}: not fetched: ${why}`);
    console.log(`lesson-check: ${copied.length} files in ${to}; use them with: npm run lab -- --source dir:${to}`);
    return 0;
  } catch (e) {
    if (signals.signalled()) return signals.exitCode();
    console.error(`lesson-check fetch: ${(e as Error).message}`);
    return 2;
  } finally {
    signals.release();
  }
}
