// The catalogue page cannot drift from the suites: docs/CHECKS.md is what the suites declare. And
// the catalogue is one consistent table: its sections in the lesson's order, each used, every
// check's needs earlier ones, every suite declaring each check once (the engine refuses a
// suite whose step or inspecting code the catalogue does not name, and the reverse).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CATALOGUE, SECTIONS, STAGES, sectionNamed } from '../helpers/checks/catalogue.ts';
import { declaredChecks, renderCatalogue } from '../helpers/commands/list.ts';
import { ROOT } from '../helpers/util/root.ts';
import { renderGradingPage } from './grading-page.ts';

describe('the check catalogue', () => {
  test('docs/CHECKS.md is the page the suites make (regenerate with npm run catalogue)', async () => {
    const declared = await declaredChecks();
    expect(declared.map((c) => c.id).sort()).toEqual(CATALOGUE.map((c) => c.id).sort());
    expect(readFileSync(join(ROOT, 'docs', 'CHECKS.md'), 'utf8')).toBe(renderCatalogue(declared));
  });

  test('docs/GRADING.md is the calibration the catalogue of mistakes makes (npm run grading)', async () => {
    expect(readFileSync(join(ROOT, 'docs', 'GRADING.md'), 'utf8')).toBe(renderGradingPage(await declaredChecks()));
  });
});

describe('the catalogue table', () => {
  test("its sections are the lesson's, numbered in order, each with checks of its own", () => {
    const sections = Object.values(SECTIONS);
    expect(sections.map((s) => s.step)).toEqual([undefined, 1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(sections.map((s) => s.name)).size).toBe(sections.length);
    for (const s of sections) {
      expect(sectionNamed(s.name)).toBe(s);
      expect(
        CATALOGUE.some((c) => c.section === s),
        s.name,
      ).toBe(true);
    }
    expect(sectionNamed('00 host')).toBeUndefined();
  });

  test('its checks: stages in order, needs and milestones on checks of the catalogue, titles "ID fact"', () => {
    const stages: string[] = Object.values(STAGES);
    const ids = CATALOGUE.map((c) => c.id);
    for (const [i, c] of CATALOGUE.entries()) {
      expect(c.title).toBe(`${c.id} ${c.fact}`);
      expect(stages.indexOf(c.stage), c.id).toBeGreaterThanOrEqual(
        stages.indexOf(CATALOGUE[Math.max(0, i - 1)]!.stage),
      );
      for (const need of c.needs) expect(ids.indexOf(need), `${c.id} needs ${need}`).toBeLessThan(i);
      for (const later of c.judgedAfter) expect(c.needs, c.id).toContain(later);
      if (c.milestone) expect(ids, c.id).toContain(c.milestone.until);
    }
  });
});
