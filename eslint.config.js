// ESLint with typescript-eslint's type-aware rules: the promise rules matter most in code that
// starts, awaits and cancels processes (a promise nobody awaits is a child nobody waits for).
// Prettier owns the layout; max-len catches what it cannot wrap (long strings).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'reports/'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
  },
  {
    rules: {
      'max-len': ['error', { code: 120, ignoreUrls: true }],
      // inside AbortSignal.any it may be garbage-collected and never fire (helpers/util/deadline.ts)
      'no-restricted-properties': [
        'error',
        { object: 'AbortSignal', property: 'timeout', message: 'use abortAfter (helpers/util/deadline.ts)' },
      ],
    },
  },
);
