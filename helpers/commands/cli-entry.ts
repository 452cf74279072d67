/** What bin/lesson-check.js imports: the CLI, and the benchmark's timing marks. */
export { main } from './cli.ts';
export { mark, markProcessStart } from '../util/timing.ts';
