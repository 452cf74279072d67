import { Host } from '../host.ts';
import { cleanDeadRuns, foreignRecordsNote } from '../run-records.ts';
import { LocalTransport } from '../transport.ts';
import { noPositionals, parseOptions } from './options.ts';

/** `lesson-check clean`: removes what inspecting runs that were killed (SIGKILL, a power cut) left on this host. */
export async function cleanCommand(args: string[]): Promise<number> {
  const { positionals } = parseOptions('clean', args, {});
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
