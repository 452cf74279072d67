// Prints docs/GRADING.md (`npm run grading`): the graders' calibration, from the catalogue of
// single mistakes and the checks the suites declare.
import { declaredChecks } from '../helpers/commands/list.ts';
import { renderGradingPage } from '../test/grading-page.ts';

process.stdout.write(renderGradingPage(await declaredChecks()));
