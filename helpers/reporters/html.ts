/**
 * One self-contained HTML page (no network fetches) for people: counts at a glance, failures
 * first with their hint, every stage and check, transcripts folded away; for several hosts, a
 * host × check matrix on top.
 */
import { visible } from '../host/host-text.ts';
import {
  type CheckResult,
  type RunReport,
  type SetupTimings,
  byStage,
  countStates,
  elapsedText,
  failures,
  gradeHint,
} from './model.ts';
import { renderTranscript } from './junit.ts';

const LABEL: Record<CheckResult['state'], string> = {
  passed: 'passed',
  failed: 'failed',
  error: 'error',
  skipped: 'skipped',
};

/** `live`: the page of a class being watched (grade --watch), rewritten at each change: it
 * reloads itself every `refreshSeconds` (a meta refresh: no script, nothing loaded but itself). */
export function renderHtml(reports: RunReport[], live?: { refreshSeconds: number; at: string }): string {
  const all = reports.flatMap((r) => r.checks);
  const n = countStates(all);
  const title = `lesson-check: ${n.passed} passed, ${n.failed} failed, ${n.error} errors, ${n.skipped} skipped`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
${live ? `<meta http-equiv="refresh" content="${live.refreshSeconds}">\n` : ''}<title>${esc(title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:70rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.3rem}h2{font-size:1.1rem;margin-top:2rem}h3{font-size:1rem;margin:1.2rem 0 .3rem}
.counts span{display:inline-block;margin-right:1rem;font-weight:600}
.passed{color:#1a7f37}.failed{color:#cf222e}.error{color:#9a6700}.skipped{color:#57606a}
table{border-collapse:collapse;width:100%;table-layout:fixed}col.state{width:7.5rem}col.time{width:5.5rem}
.glance{width:auto;table-layout:auto}
td,th{border-bottom:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
td.state{font-weight:600;white-space:nowrap}.matrix td{text-align:center}
.failure{border-left:4px solid #cf222e;padding:.2rem .8rem;margin:.6rem 0;background:#fff5f5}
.failure.error{border-color:#9a6700;background:#fffbea}
pre{background:#f6f8fa;padding:.5rem;overflow:auto;white-space:pre-wrap;font-size:12px}
.meta{color:#57606a}
</style></head><body>
<h1>${esc(title)}</h1>
<p class="counts" id="counts">${counts(n)}</p>
${live ? `<p class="meta" id="live">watching the class: last change ${esc(live.at)}; this page reloads itself</p>` : ''}
${reports.length > 1 ? matrix(reports) : ''}
${reports.map(hostSection).join('\n')}
</body></html>
`;
}

/** The run's counts, each marked for the page's tests and styles. */
function counts(n: Record<CheckResult['state'], number>): string {
  const span = (state: CheckResult['state'], label: string) =>
    `<span class="${state}" data-count="${state}">${n[state]} ${label}</span>`;
  return span('passed', 'passed') + span('failed', 'failed') + span('error', 'errors') + span('skipped', 'skipped');
}

function matrix(reports: RunReport[]): string {
  const ids = [...new Set(reports.flatMap((r) => r.checks.map((c) => c.id)))];
  const head = `<tr><th>host</th>${ids.map((id) => `<th>${esc(id)}</th>`).join('')}<th>score</th></tr>`;
  const rows = reports.map((r) => {
    const cells = ids.map((id) => {
      const c = r.checks.find((x) => x.id === id);
      return c
        ? `<td class="${c.state}" title="${esc(`${c.title}: ${c.state}`)}">${symbol(c.state)}</td>`
        : '<td></td>';
    });
    return `<tr><th>${esc(r.host)}</th>${cells.join('')}<td>${r.grade ? `${r.grade.percent}%` : ''}</td></tr>`;
  });
  return `<h2>hosts × checks</h2><table class="matrix">${head}${rows.join('')}</table>`;
}

function hostSection(r: RunReport): string {
  const bad = failures(r.checks);
  const score = r.grade ? ` — score ${r.grade.score}/${r.grade.maxScore} (${r.grade.percent}%)` : '';
  const versions = Object.entries(r.versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const meta = [
    esc(r.mode),
    `profile ${esc(r.profile)}`,
    `source ${esc(r.source)}${r.standInImages ? ' · stand-in images' : ''}`,
    esc(versions),
    ...(r.inventory ? [esc(r.inventory)] : []),
    ...(r.hostKeyUnchecked ? [`<strong class="warning">${esc(r.hostKeyUnchecked)}</strong>`] : []),
    `started ${esc(r.startedAt)}`,
    ...(r.setup ? [esc(setupText(r.setup))] : []),
  ].join(' · ');
  const failuresPart = bad.length
    ? `<h3>Failures</h3>${bad.map((c) => failure(c, r.grade ? gradeHint(c) : c.hint)).join('')}`
    : '<p class="passed">No failures.</p>';
  return `<section class="host" data-host="${esc(r.host)}">
<h2>${esc(r.host)}${score}</h2>
<p class="meta">${meta}</p>
${glance(r.checks)}
${failuresPart}
${byStage(r.checks)
  .map((s) => stageTable(s.stage, s.checks))
  .join('')}
</section>`;
}

/** "set up in 258.8 s (built: building containerd 2.2.1 (1/5) 71.2 s, …)". */
function setupText(s: SetupTimings): string {
  const steps = s.steps.map((t) => `${t.step} ${elapsedText(t.ms)}${t.outcome === 'failed' ? ' (failed)' : ''}`);
  const how = s.fromCache ? 'from the cache' : 'built';
  return `set up in ${elapsedText(s.ms)} (${how}${steps.length ? `: ${steps.join(', ')}` : ''})`;
}

/** Stages at a glance: one row per stage with its counts. */
function glance(checks: CheckResult[]): string {
  const rows = byStage(checks).map(({ stage, checks: inStage }) => {
    const n = countStates(inStage);
    const cells = (['passed', 'failed', 'error', 'skipped'] as const).map((k) => `<td class="${k}">${n[k]}</td>`);
    return `<tr><td>${esc(stage)}</td>${cells.join('')}</tr>`;
  });
  const head = ['stage', 'passed', 'failed', 'errors', 'skipped'].map((h) => `<th>${h}</th>`).join('');
  return `<table class="glance"><tr>${head}</tr>${rows.join('')}</table>`;
}

function failure(c: CheckResult, hint: string | undefined): string {
  const head = `<b>${esc(c.title)}</b> <span class="${c.state}">${LABEL[c.state]}</span>`;
  const expected = `<div>expected: ${esc(c.expected ?? '')}</div>`;
  const body = `${expected}<pre>${esc(c.observed ?? '')}</pre><div>hint: ${esc(hint ?? '')}</div>`;
  return `<div class="failure ${c.state}">${head}\n${body}</div>`;
}

function stageTable(stage: string, checks: CheckResult[]): string {
  const rows = checks.map((c) => {
    const why =
      c.state === 'skipped'
        ? esc(c.skipReason ?? '')
        : c.state === 'passed'
          ? ''
          : esc(c.cause ?? c.observed?.split('\n')[0] ?? '');
    const commands = c.transcript.filter((e) => e.outcome).length;
    const summary = `transcript (${commands} command${commands === 1 ? '' : 's'})`;
    const transcript = c.transcript.length
      ? `<details><summary>${summary}</summary><pre>${esc(renderTranscript(c.transcript))}</pre></details>`
      : '';
    const state = `<td class="state ${c.state}">${symbol(c.state)} ${LABEL[c.state]}</td>`;
    const title = `<b>${esc(c.id)}</b> ${esc(c.title.slice(c.id.length + 1))}`;
    const time = `<td>${(c.durationMs / 1000).toFixed(2)} s</td>`;
    return (
      `<tr data-check="${esc(c.id)}" data-state="${c.state}">${state}` +
      `<td>${title}<div class="meta">${why}</div>${transcript}</td>${time}</tr>`
    );
  });
  const columns = '<colgroup><col class="state"><col><col class="time"></colgroup>';
  return `<h3>${esc(stage)}</h3><table>${columns}${rows.join('')}</table>`;
}

function symbol(state: CheckResult['state']): string {
  return { passed: '✓', failed: '✗', error: '!', skipped: '–' }[state];
}

function esc(s: string): string {
  return visible(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
