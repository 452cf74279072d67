// A graded host's run records are its student's input: only the shape lesson-check writes is a
// record; everything else is said why and left alone. And what the sweep reads of a host's list
// is bounded, whatever it prints. No root, no lab.
import { hostname } from 'node:os';
import { describe, expect, test } from 'vitest';
import { lessonProfile } from '../helpers/profile.ts';
import { foreignRecordsNote, parseRunRecord } from '../helpers/run/run-records.ts';
import { ownNames } from '../helpers/run/run-traces.ts';

const valid = {
  runId: '0a1b2c',
  mode: 'grade',
  origin: hostname(),
  pid: 1234,
  pidStart: '98765',
  startedAt: '2026-12-03T09:00:00.000Z',
  paths: lessonProfile().paths,
  prefix: '',
};
const parse = (doc: unknown, name = '0a1b2c.json') => parseRunRecord(name, JSON.stringify(doc));

describe('run records read from a host', () => {
  test('the shape lesson-check writes is a record', () => {
    expect(parse(valid)).toEqual(valid);
    expect(parse({ ...valid, prefix: '/var/lib/lesson-check/labs/x' })).toMatchObject({ runId: '0a1b2c' });
  });

  test.each([
    ['null', null, 'not a JSON object'],
    ['an array', [], 'not a JSON object'],
    ['a string', 'lc-0a1b2c', 'not a JSON object'],
    ['an empty object', {}, 'no run id'],
    ['a run id with a glob', { ...valid, runId: '*' }, 'no run id'],
    ['a run id with a path', { ...valid, runId: '../../x' }, 'no run id'],
    ['the grader’s machine without paths', { runId: '0a1b2c', mode: 'grade', origin: hostname(), pid: 1 }, 'no '],
    ['a PID that is no number', { ...valid, pid: '1; rm -rf /' }, 'no PID'],
    ['a PID of 0', { ...valid, pid: 0 }, 'no PID'],
    ['an origin with a newline', { ...valid, origin: 'a\nb' }, 'no host name'],
    ['a relative path', { ...valid, paths: { ...valid.paths, ctr: 'ctr' } }, 'path ctr'],
    ['a path with ..', { ...valid, paths: { ...valid.paths, nerdctlDataRoot: '/var/../' } }, 'path nerdctlDataRoot'],
    ['a path with a control', { ...valid, paths: { ...valid.paths, socket: '/run/\u001b[2J' } }, 'path socket'],
    ['a missing path', { ...valid, paths: { ...valid.paths, ctr: undefined } }, 'path ctr'],
    ['an unknown path', { ...valid, paths: { ...valid.paths, evil: '/' } }, 'unknown path'],
    ['an unknown key', { ...valid, command: 'rm -rf /' }, 'unknown key'],
    ['a prefix that is not absolute', { ...valid, prefix: 'labs' }, 'prefix'],
  ])('%s is no record', (_what, doc, why) => {
    const parsed = parse(doc);
    expect(typeof parsed).toBe('string');
    expect(parsed).toContain(why);
  });

  test('not JSON, or in a file not named after its run id, is no record', () => {
    expect(parseRunRecord('0a1b2c.json', '{"runId": "0a1b2c",')).toBe('not JSON');
    expect(parseRunRecord('ffffff.json', JSON.stringify(valid))).toMatch(/not named after its run id/);
  });

  test('what was left alone is said in one bounded line', () => {
    const note = foreignRecordsNote(Array.from({ length: 40 }, (_, i) => `f${i}.json (not JSON)`))!;
    expect(note).toMatch(/^left alone 40 files in \/run\/lesson-check\/runs/);
    expect(note).toMatch(/and 35 more$/);
    expect(foreignRecordsNote([])).toBeUndefined();
  });
});

describe('a host’s lists, as the sweep reads them', () => {
  test('at most `max` distinct names that the filter keeps, of printable words only', () => {
    const flood = Array.from({ length: 100_000 }, (_, i) => `lc-0a1b2c-${i}`).join('\n');
    const started = performance.now();
    expect(ownNames(flood, (n) => n.startsWith('lc-0a1b2c'), 4)).toEqual([
      'lc-0a1b2c-0',
      'lc-0a1b2c-1',
      'lc-0a1b2c-2',
      'lc-0a1b2c-3',
    ]);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(ownNames('a\na\n\u001b[2J\nb c\nd\n', () => true, 10)).toEqual(['a', 'd']);
  });
});
