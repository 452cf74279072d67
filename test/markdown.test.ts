// Issue 34: summary.md goes into GitHub's step summary, so a host's text (its name, a command's
// output, a skip reason) must render there as the text it is: never bold, a link, an image, a
// heading, an autolink, a mention or an emoji. Rendered here by markdown-it with raw HTML and
// linkify on, as GitHub's renderer has them.
import MarkdownIt from 'markdown-it';
import { describe, expect, test } from 'vitest';
import { renderMarkdown } from '../helpers/reporters/markdown.ts';
import { type CheckResult, type RunReport, gradeOf } from '../helpers/reporters/model.ts';

/** What a student who is root on a graded host could make it say. */
const PAYLOADS = [
  '**Score overridden: 25/25** [see your report](www.example)',
  '![x](http://a/b.png)',
  '# heading',
  'www.evil.example',
  'evil.com and user@mail.com and https://evil.com/x',
  ':smile: and @someone',
  '<img src=x onerror=alert(1)> <a href="http://x">x</a> &amp; &#42;',
  '_em_ *em* ~~struck~~ [ref] [ref]: http://ref.example',
  '| a | b |',
  '`` code `` and \\*',
];
const PAYLOAD = PAYLOADS.join(' ');
/** Prose that starts a line or a block: a heading, a list, a quote, a rule. */
const LINE_START = ['# h1', '1. one', '- item', '> quote', '---', '    indented', '=== x'];
/** A multi-line observed: fences, HTML and a closing tag of ours inside a code block. */
const OBSERVED = ['```', '````', '</details>', '<img src=x>', '**bold** ![x](y)', '`', ''].join('\n');

function check(over: Partial<CheckResult>): CheckResult {
  return {
    id: 'K4',
    title: `K4 ${PAYLOAD}`,
    stage: '40 cni',
    section: `Install the CNI plugins ${PAYLOAD}`,
    state: 'failed',
    durationMs: 10,
    weight: 1,
    transcript: [],
    ...over,
  };
}

function report(host: string, checks: CheckResult[], graded: boolean): RunReport {
  return {
    runId: 'abc123',
    host,
    profile: `lab ${PAYLOAD}`,
    mode: `verify ${PAYLOAD}`,
    source: `go ${PAYLOAD}`,
    inventory: LINE_START[0],
    versions: {},
    standInImages: false,
    notes: [],
    startedAt: new Date(0).toISOString(),
    durationMs: 10,
    checks,
    ...(graded ? { grade: gradeOf(checks) } : {}),
  };
}

const ungraded = report(
  `student ${PAYLOAD}`,
  [
    check({
      expected: `the address ${PAYLOAD}`,
      observed: `CNI ADD gave ${PAYLOAD}`,
      hint: `run \`ip -4 addr show\` then ${PAYLOAD}`,
    }),
    check({ id: 'K3', state: 'error', expected: LINE_START.join(' '), observed: OBSERVED, hint: 'h' }),
    check({ id: 'K5', expected: 'e', observed: ' `padded` ', hint: 'h' }),
    check({ id: 'N1', state: 'skipped', skipReason: `blocked by K1: ${PAYLOAD}`, skipKind: 'blocked' }),
  ],
  false,
);
const graded = report(PAYLOADS[0]!, [check({ cause: `the cause ${PAYLOAD}` }), check({ state: 'passed' })], true);
const inventories = LINE_START.map((line, i) => ({ ...graded, host: `h${i}`, inventory: line }));
const markdown = renderMarkdown([ungraded, graded, ...inventories]);
const html = new MarkdownIt({ html: true, linkify: true }).render(markdown);

/** The elements our own summary is made of: anything else came from a host's text. */
const OURS = ['h2', 'p', 'strong', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'details', 'summary', 'b'];
const OURS_TOO = ['ul', 'li', 'code', 'pre', 'br'];

/** The text a reader sees in `fragment` (tags dropped, entities decoded). */
function seen(fragment: string): string {
  return fragment
    .replace(/<[^>]*>/g, '')
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

describe('summary.md renders host text as text (markdown-it, html and linkify on)', () => {
  test('no element but our own: no link, image, heading, emphasis, list, quote or rule from a host', () => {
    const tags = new Set([...html.matchAll(/<([a-z][a-z0-9]*)/g)].map((m) => m[1]!));
    expect([...tags].filter((t) => !OURS.includes(t) && !OURS_TOO.includes(t))).toEqual([]);
    expect(html).not.toMatch(/<a[\s>]|<img|<h[13-6]|<em>|<del>|<s>|<hr|<blockquote|<ol/);
    expect(html.match(/<h2>/g)).toHaveLength(1);
    expect(html).toMatch(/^<h2>lesson-check: \d+ passed/);
  });

  test('the only bold is ours: each host line, and the score; a bold host name holds text only', () => {
    const strong = [...html.matchAll(/<strong>([\s\S]*?)<\/strong>/g)].map((m) => m[1]!);
    const hosts = [ungraded, graded, ...inventories].map((r) => r.host);
    const scores = strong.filter((s) => /^\d+\//.test(s));
    expect(strong.filter((s) => !/^\d+\//.test(s)).map((s) => seen(s).replace(/\u200B/g, ''))).toEqual(hosts);
    expect(scores).toHaveLength(1 + inventories.length);
    for (const s of scores) expect(s).toMatch(/^\d+\/\d+ \(\d+(\.\d+)?%\)$/);
    for (const s of strong) expect(s).not.toMatch(/</);
  });

  test('lists and code come only from the failures: three items each, the observed in code', () => {
    const failing = [ungraded, graded, ...inventories].flatMap((r) => r.checks).filter((c) => c.state !== 'passed');
    const shown = failing.filter((c) => c.state !== 'skipped');
    expect(html.match(/<li>/g)).toHaveLength(3 * shown.length);
    expect(html.match(/<ul>/g)).toHaveLength(shown.length);
    expect(html.match(/<table>/g)).toHaveLength(2 + inventories.length);
  });

  test("every payload's text is visible, as written", () => {
    const text = seen(html).replace(/\u200B/g, '');
    for (const p of [PAYLOAD, ...LINE_START.map((l) => l.trim())]) expect(text).toContain(p);
    expect(text).toContain(`student ${PAYLOAD}`);
    expect(text).toContain(`lab ${PAYLOAD}`);
    expect(text).toContain(`blocked by K1: ${PAYLOAD}`);
    expect(text).toContain(`revisit "Install the CNI plugins ${PAYLOAD}": the cause ${PAYLOAD}`);
    // our hints quote commands in backticks: code spans, the backticks not shown
    expect(text).toContain(`run ip -4 addr show then ${PAYLOAD}`);
  });

  test('a mention or an emoji code is broken by a zero-width space, outside code only', () => {
    const outsideCode = seen(html.replace(/<code>[\s\S]*?<\/code>/g, ''));
    expect(outsideCode).toContain('@\u200Bsomeone');
    expect(outsideCode).toContain(':\u200Bsmile:');
    expect(outsideCode).not.toMatch(/(^|\W)@\w|:[\w+-]+:/);
    // an email's @ is no mention: it stays as it was
    expect(outsideCode).toContain('user@mail.com');
  });

  test('code stays exact whatever it holds: backticks, fences, our closing tag', () => {
    const codes = [...html.matchAll(/<code>([\s\S]*?)<\/code>/g)].map((m) => seen(m[1]!));
    expect(codes).toContain(`${OBSERVED}\n`);
    expect(codes).toContain(`CNI ADD gave ${PAYLOAD}`);
    expect(codes).toContain(' `padded` ');
    expect(codes).toContain('ip -4 addr show');
    expect(codes).toContain(`lab ${PAYLOAD}`);
    expect(markdown).toMatch(/^ {2}`{5}$/m);
  });
});
