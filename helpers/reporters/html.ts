/**
 * One self-contained HTML page (no network fetches) for people: counts at a glance, failures
 * first with their hint, every stage and check, transcripts folded away; for several hosts, a
 * host × check matrix on top.
 */
import { type CheckResult, type RunReport, byStage, countStates, failures, gradeHint } from './model.ts';
import { renderTranscript } from './junit.ts';

const LABEL: Record<CheckResult['state'], string> = {
  passed: 'passed',
  failed: 'failed',
  error: 'error',
  skipped: 'skipped',
};

export function renderHtml(reports: RunReport[]): string {
  const all = reports.flatMap((r) => r.checks);
  const n = countStates(all);
  const title = `lesson-check: ${n.passed} passed, ${n.failed} failed, ${n.error} errors, ${n.skipped} skipped`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:70rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.3rem}h2{font-size:1.1rem;margin-top:2rem}h3{font-size:1rem;margin:1.2rem 0 .3rem}
.counts span{display:inline-block;margin-right:1rem;font-weight:600}
.passed{color:#1a7f37}.failed{color:#cf222e}.error{color:#9a6700}.skipped{color:#57606a}
table{border-collapse:collapse;width:100%;table-layout:fixed}col.state{width:7.5rem}col.time{width:5.5rem}.glance{width:auto;table-layout:auto}td,th{border-bottom:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
td.state{font-weight:600;white-space:nowrap}.matrix td{text-align:center}
.failure{border-left:4px solid #cf222e;padding:.2rem .8rem;margin:.6rem 0;background:#fff5f5}
.failure.error{border-color:#9a6700;background:#fffbea}
pre{background:#f6f8fa;padding:.5rem;overflow:auto;white-space:pre-wrap;font-size:12px}
.meta{color:#57606a}
</style></head><body>
<h1>${esc(title)}</h1>
<p class="counts" id="counts"><span class="passed" data-count="passed">${n.passed} passed</span><span class="failed" data-count="failed">${n.failed} failed</span><span class="error" data-count="error">${n.error} errors</span><span class="skipped" data-count="skipped">${n.skipped} skipped</span></p>
${reports.length > 1 ? matrix(reports) : ''}
${reports.map(hostSection).join('\n')}
</body></html>
`;
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
  return `<section class="host" data-host="${esc(r.host)}">
<h2>${esc(r.host)}${r.grade ? ` — score ${r.grade.score}/${r.grade.maxScore} (${r.grade.percent}%)` : ''}</h2>
<p class="meta">${esc(r.mode)} · profile ${esc(r.profile)} · source ${esc(r.source)}${r.standInImages ? ' · stand-in images' : ''} · ${esc(
    Object.entries(r.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
  )} · started ${esc(r.startedAt)}</p>
${glance(r.checks)}
${bad.length ? `<h3>Failures</h3>${bad.map((c) => failure(c, r.grade ? gradeHint(c) : c.hint)).join('')}` : '<p class="passed">No failures.</p>'}
${byStage(r.checks)
  .map((s) => stageTable(s.stage, s.checks))
  .join('')}
</section>`;
}

/** Stages at a glance: one row per stage with its counts. */
function glance(checks: CheckResult[]): string {
  const rows = byStage(checks).map(({ stage, checks: inStage }) => {
    const n = countStates(inStage);
    return `<tr><td>${esc(stage)}</td><td class="passed">${n.passed}</td><td class="failed">${n.failed}</td><td class="error">${n.error}</td><td class="skipped">${n.skipped}</td></tr>`;
  });
  return `<table class="glance"><tr><th>stage</th><th>passed</th><th>failed</th><th>errors</th><th>skipped</th></tr>${rows.join('')}</table>`;
}

function failure(c: CheckResult, hint: string | undefined): string {
  return `<div class="failure ${c.state}"><b>${esc(c.title)}</b> <span class="${c.state}">${LABEL[c.state]}</span>
<div>expected: ${esc(c.expected ?? '')}</div><pre>${esc(c.observed ?? '')}</pre><div>hint: ${esc(hint ?? '')}</div></div>`;
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
    const transcript = c.transcript.length
      ? `<details><summary>transcript (${commands} command${commands === 1 ? '' : 's'})</summary><pre>${esc(renderTranscript(c.transcript))}</pre></details>`
      : '';
    return `<tr data-check="${esc(c.id)}" data-state="${c.state}"><td class="state ${c.state}">${symbol(c.state)} ${LABEL[c.state]}</td><td><b>${esc(c.id)}</b> ${esc(c.title.slice(c.id.length + 1))}<div class="meta">${why}</div>${transcript}</td><td>${(c.durationMs / 1000).toFixed(2)} s</td></tr>`;
  });
  return `<h3>${esc(stage)}</h3><table><colgroup><col class="state"><col><col class="time"></colgroup>${rows.join('')}</table>`;
}

function symbol(state: CheckResult['state']): string {
  return { passed: '✓', failed: '✗', error: '!', skipped: '–' }[state];
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
