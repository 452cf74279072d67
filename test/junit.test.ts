// The JUnit writer: valid XML whatever the commands printed, failures apart from errors,
// skipped cases with their reason, properties and transcript in place.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, test } from 'vitest';
import { renderJUnit } from '../helpers/reporters/junit.ts';
import type { RunReport } from '../helpers/reporters/model.ts';

const report: RunReport = {
  runId: 'abc123',
  host: 'local',
  profile: 'lab-abc123',
  mode: 'lab',
  source: 'apt',
  versions: { containerd: '2.1.9', runc: '1.1.5' },
  standInImages: true,
  notes: ['images are stand-ins'],
  startedAt: '2026-11-28T12:00:00.000Z',
  durationMs: 1000,
  checks: [
    {
      id: 'R1',
      title: 'R1 ctr run fails before runc',
      stage: '20 runc',
      section: 'step',
      weight: 1,
      state: 'passed',
      durationMs: 300,
      transcript: [
        {
          command: 'ctr run',
          outcome: 'exit 1 after 3 ms',
          exitCode: 1,
          durationMs: 3,
          stdout: '',
          stderr: 'exec: "runc": executable file not found in $PATH\u0007\u001b[31m ]]> \uFFFD',
        },
      ],
    },
    {
      id: 'R2',
      title: 'R2 runc installed',
      stage: '20 runc',
      section: 'step',
      weight: 1,
      state: 'failed',
      durationMs: 40,
      expected: 'mode 0755',
      observed: 'mode 0644',
      hint: 'install -m 755',
      transcript: [],
    },
    {
      id: 'R3',
      title: 'R3 config',
      stage: '20 runc',
      section: 'step',
      weight: 1,
      state: 'error',
      durationMs: 40,
      expected: 'the check runs',
      observed: 'Test timed out',
      hint: 'limit',
      transcript: [],
    },
    {
      id: 'N1',
      title: 'N1 nerdctl',
      stage: '30 nerdctl',
      section: 'step',
      weight: 1,
      state: 'skipped',
      durationMs: 0,
      skipReason: 'nerdctl is not available from the apt source',
      transcript: [],
    },
  ],
};

/** The parts of the parsed JUnit document these tests read (attributes unprefixed). */
interface JUnitCase {
  failure?: { type: string; '#text': string };
  error?: { type: string };
  skipped?: string;
  'system-out'?: string;
}
interface JUnitSuite {
  name: string;
  properties: { property: Array<{ name: string; value: string }> };
  /** An array, or the case itself when the suite has only one. */
  testcase: JUnitCase[] | JUnitCase;
}
interface JUnitDocument {
  testsuites: { testsuite: JUnitSuite[] };
}

// top-level await: the module loads junit-report-builder when first asked
const xml = await renderJUnit([report]);

describe('junit', () => {
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml) as JUnitDocument;
  const suites = doc.testsuites.testsuite;

  test('is well-formed even with control characters and a CDATA terminator in the output', () => {
    expect(XMLValidator.validate(xml)).toBe(true);
  });

  test("one testsuite per stage, with the run's properties", () => {
    expect(suites.map((s) => s.name)).toEqual(['local 20 runc', 'local 30 nerdctl']);
    const props = Object.fromEntries(suites[0]!.properties.property.map((p) => [p.name, p.value]));
    expect(props).toMatchObject({
      host: 'local',
      mode: 'lab',
      source: 'apt',
      'version.runc': '1.1.5',
      'stand-in images': 'true',
    });
  });

  test('failures and errors are kept apart, each with expected, observed and hint', () => {
    expect(suites[0]).toMatchObject({ tests: '3', failures: '1', errors: '1' });
    const [, failed, errored] = suites[0]!.testcase as [unknown, JUnitCase, JUnitCase];
    expect(failed.failure!.type).toBe('CheckFailure');
    expect(failed.failure!['#text']).toMatch(/expected: mode 0755\nobserved: mode 0644\nhint: install -m 755/);
    expect(errored.error!.type).toBe('CheckError');
  });

  test('a skipped case carries its reason', () => {
    expect((suites[1]!.testcase as JUnitCase).skipped).toBe('nerdctl is not available from the apt source');
  });

  test('the transcript is in system-out', () => {
    const passed = (suites[0]!.testcase as JUnitCase[])[0]!;
    expect(passed['system-out']).toContain('exec: "runc": executable file not found in $PATH');
  });
});
