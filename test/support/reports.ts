/** Reading a run's reports: its failing checks, one check by ID, the JUnit testcases. */
import { XMLParser } from 'fast-xml-parser';
import type { RunReport } from '../../helpers/reporters/model.ts';

/** The IDs of a report's checks that failed or could not run. */
export function failing(report: RunReport | undefined): string[] {
  return (report?.checks ?? []).filter((c) => c.state === 'failed' || c.state === 'error').map((c) => c.id);
}

/** One check of a report, by ID. */
export function check(report: RunReport | undefined, id: string) {
  return report!.checks.find((c) => c.id === id)!;
}

/** A JUnit testcase element, as parsed (attributes unprefixed): the parts the tests look at. */
export interface JUnitCase {
  name: string;
  failure?: unknown;
  error?: unknown;
  skipped?: unknown;
  'system-out'?: string;
}

/** A parsed JUnit document: an element that occurs once is the element itself, not an array. */
interface JUnitDocument {
  testsuites: { testsuite: JUnitSuite | JUnitSuite[] };
}
interface JUnitSuite {
  testcase: JUnitCase | JUnitCase[];
}

/** testcase name → its element, from a JUnit document. */
export function junitCases(xml: string): Map<string, JUnitCase> {
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml) as JUnitDocument;
  const suites = [doc.testsuites.testsuite].flat();
  return new Map(suites.flatMap((s) => [s.testcase].flat()).map((tc) => [tc.name, tc]));
}
