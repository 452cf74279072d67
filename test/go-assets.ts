// vitest globalSetup: the go source's build of the lesson's releases (containerd 2.2.1, runc
// 1.4.0, nerdctl 2.2.1, the CNI plugins 1.9.0, podinfo) made once, before any test, so that a
// cold build (minutes, on a fresh CI machine) is not charged to the first lab test's timeout.
// The labs under test then find it in the cache, as a user's second `npm run lab` would.
import { Host } from '../helpers/host/host.ts';
import { buildGoAssets } from '../helpers/sources/go-source.ts';
import { LESSON_VERSIONS } from '../helpers/profile.ts';
import { LocalTransport } from '../helpers/host/transport.ts';
import { AS_ROOT, UNIT_TIER } from './support/requirements.ts';

export default async function setup(): Promise<void> {
  // only what a lab needs: as root, and not for the unit tier
  if (AS_ROOT.missing() || UNIT_TIER) return;
  const started = Date.now();
  const built = await buildGoAssets(new Host(new LocalTransport()), { ...LESSON_VERSIONS });
  const missing = Object.values(built.missing);
  if (missing.length) throw new Error(`the go source built no ${missing.join('; ')}`);
  process.stderr.write(
    `go source: the lesson's releases ${built.fromCache ? 'found in the cache' : 'built'} ` +
      `in ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
  );
}
