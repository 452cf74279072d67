/** `lesson-check verify --list`: the checks, their stages and titles, as the suites declare them. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CATALOGUE } from '../catalogue.ts';
import { ROOT } from '../root.ts';

export async function listChecks(): Promise<void> {
  const vitest = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const out = await new Promise<string>((done) => {
    const p = spawn(
      process.execPath,
      [vitest, 'list', '--json', '--root', ROOT, '--config', join(ROOT, 'vitest.config.ts')],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let text = '';
    p.stdout.on('data', (d: Buffer) => (text += d.toString()));
    p.once('close', () => done(text));
  });
  const tests = JSON.parse(out) as Array<{ name: string }>;
  for (const { id, stage } of CATALOGUE) {
    const title = tests.map((t) => t.name.split(' > ').pop() ?? '').find((n) => n.startsWith(`${id} `));
    console.log(`${id.padEnd(3)} ${stage.padEnd(14)} ${title?.slice(id.length + 1) ?? ''}`);
  }
}
