/**
 * `lesson-check pins --newest-patch`: the lesson's pins moved to the newest patch release of each
 * pinned minor version, as `--pin` takes them (`containerd=2.2.3,runc=1.4.1,…`), on stdout alone.
 * A lookup that fails (no network, a rate limit, no such release) is one line, exit 2: the
 * workflow's next step must not run with an empty pin.
 */
import { LookupError, newestPatches } from '../sources/newest-patches.ts';
import { LESSON_VERSIONS } from '../profile.ts';
import { noPositionals, parseOptions } from './options.ts';
import { ENV, declareCommand } from './usage.ts';

export const PINS_COMMAND = declareCommand({
  name: 'pins',
  synopsis: ['pins [--newest-patch]'],
  about:
    `The lesson's pins as lab --pin takes them (${pinList(LESSON_VERSIONS)}), on stdout alone; with ` +
    "--newest-patch each moved to the newest patch release of its minor version, from GitHub's releases " +
    '(for a CI matrix over the pins and their newest patches).',
  options: {
    'newest-patch': {
      type: 'boolean',
      default: false,
      help: 'each pin moved to the newest patch release of its minor version',
    },
    api: {
      type: 'string',
      default: 'https://api.github.com',
      hidden: true,
      help: "for the project's own tests: recorded GitHub API responses served on loopback",
    },
  },
  writes: 'the pins on stdout, one line',
  exits: '0 printed, 2 usage error or a lookup that failed (no network, a rate limit, no such release)',
  env: [ENV.ghToken],
});

export async function pinsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(PINS_COMMAND, args);
  noPositionals('pins', positionals);
  if (!values['newest-patch']) {
    console.log(pinList(LESSON_VERSIONS));
    return 0;
  }
  try {
    const token = process.env.GH_TOKEN || process.env.GITHUB_TOKEN || undefined;
    console.log(pinList(await newestPatches(LESSON_VERSIONS, values.api, token)));
    return 0;
  } catch (e) {
    if (!(e instanceof LookupError)) throw e;
    console.error(`lesson-check pins: the newest patch releases could not be looked up: ${e.message}`);
    return 2;
  }
}

function pinList(versions: Record<string, string>): string {
  return Object.entries(versions)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
