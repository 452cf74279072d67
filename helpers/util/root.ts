/** The project's root folder (where package.json, suites/ and node_modules/ are). */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// bin/lesson-check.js runs the CLI from one bundled file elsewhere, and defines this for it
declare const __LESSON_CHECK_ROOT__: string | undefined;

export const ROOT =
  typeof __LESSON_CHECK_ROOT__ === 'string'
    ? __LESSON_CHECK_ROOT__
    : resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
