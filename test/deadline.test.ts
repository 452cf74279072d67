// A deadline inside AbortSignal.any must fire even when nothing listened to it as it passed and
// the process collected garbage meanwhile: a class's host sweep is bounded by one (fleet.ts), and
// AbortSignal.timeout lost it there (Node 20), so a slow host's sweep ran 80 s instead of 15 s.
import { execFileSync } from 'node:child_process';
import { expect, test } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;

/** Whether a deadline of 300 ms made by `make`, held only inside AbortSignal.any and with no
 * listener, has fired 1.5 s later in a process that collects garbage every 100 ms meanwhile. */
function firesAfterGc(make: string): boolean {
  const script = `
    import { abortAfter } from './helpers/util/deadline.ts';
    const held = AbortSignal.any([${make}, new AbortController().signal]);
    for (let i = 0; i < 15; i++) { globalThis.gc(); await new Promise((d) => setTimeout(d, 100)); }
    console.log(held.aborted);`;
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return out.trim() === 'true';
}

test('the premise: AbortSignal.timeout inside AbortSignal.any is lost to garbage collection', () => {
  // if a Node release keeps it alive, this fails: then abortAfter is no longer needed
  expect(firesAfterGc('AbortSignal.timeout(300)')).toBe(false);
});

test('abortAfter fires inside AbortSignal.any whatever the collector did meanwhile', () => {
  expect(firesAfterGc('abortAfter(300)')).toBe(true);
});
