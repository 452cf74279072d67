/** The shape every report is written from. Reporters know neither hosts nor vitest: only this. */
import type { TranscriptEntry } from '../host.ts';

export type CheckState = 'passed' | 'failed' | 'error' | 'skipped';

export interface CheckResult {
  id: string;
  title: string;
  stage: string;
  state: CheckState;
  durationMs: number;
  expected?: string;
  observed?: string;
  hint?: string;
  skipReason?: string;
  transcript: TranscriptEntry[];
}

export interface RunReport {
  runId: string;
  host: string;
  profile: string;
  mode: string;
  source: string;
  versions: Record<string, string>;
  standInImages: boolean;
  notes: string[];
  startedAt: string;
  durationMs: number;
  checks: CheckResult[];
}

export function countStates(checks: CheckResult[]): Record<CheckState, number> {
  const counts: Record<CheckState, number> = { passed: 0, failed: 0, error: 0, skipped: 0 };
  for (const c of checks) counts[c.state]++;
  return counts;
}
