// The lesson, stage by stage (one module each, in lesson order), as one vitest file. Walking (lab,
// walkthrough), the stages run one after another and each check after the last: each performs a
// lesson step the next builds on. Inspecting (verify, grade), every check starts as soon as the
// checks it needs have ended, whatever their stage: the host is already as the lesson left it,
// and `needs` says all that one check's meaning depends on (helpers/checks/check.ts).
import './00-host.ts';
import './10-containerd.ts';
import './20-runc.ts';
import './30-nerdctl.ts';
import './40-cni.ts';
import { afterAll } from 'vitest';
import { loadRunContext } from '../helpers/run/run.ts';

// over ssh, this process's session on the host (its runner) ends with the checks, so that its
// folder there is gone before the run's owner sweeps the host and reports
afterAll(async () => {
  await (await loadRunContext()).host.transport.endSession?.();
});
