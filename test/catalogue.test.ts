// The catalogue page cannot drift from the suites: docs/CHECKS.md is what the suites declare.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CATALOGUE } from '../helpers/checks/catalogue.ts';
import { declaredChecks, renderCatalogue } from '../helpers/commands/list.ts';
import { ROOT } from '../helpers/root.ts';
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
