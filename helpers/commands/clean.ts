import { Host } from '../host/host.ts';
import { cleanDeadRuns, foreignRecordsNote } from '../run/run-records.ts';
import { LocalTransport } from '../host/transport.ts';
import { noPositionals, parseOptions } from './options.ts';
import { declareCommand } from './usage.ts';

export const CLEAN_COMMAND = declareCommand({
  name: 'clean',
  synopsis: ['clean'],
  about:
    'Removes what runs of verify, grade, coach or walkthrough that were killed outright (SIGKILL, a power cut) ' +
    "left on this host: what each one's run record names (its containerd namespaces, netns, links, CNI " +
    'state), then the record. ' +
    "Every run does it as it starts. A live run's are never touched, nor a file there that no run wrote.",
  options: {},
  writes: 'nothing; it removes what dead runs left, and their records in /run/lesson-check/runs',
  exits: '0 done (whether or not there was anything to remove), 2 usage or internal error',
  env: [],
});

/** `lesson-check clean`: removes what inspecting runs that were killed (SIGKILL, a power cut) left on this host. */
export async function cleanCommand(args: string[]): Promise<number> {
  const { positionals } = parseOptions(CLEAN_COMMAND, args);
  noPositionals('clean', positionals);
  const { cleaned: removed, foreign } = await cleanDeadRuns(new Host(new LocalTransport()));
  const note = foreignRecordsNote(foreign);
  if (note) console.log(`lesson-check: ${note}`);
  for (const dead of removed)
    console.log(
      `lesson-check: removed what run ${dead.runId} (${dead.mode}, PID ${dead.pid}, started ${dead.startedAt}) ` +
        'left: it ended without cleaning up',
    );
  if (removed.length === 0)
    console.log('lesson-check: nothing to clean: no run that ended without cleaning up left anything here');
  return 0;
}
