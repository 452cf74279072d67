// A class split over runners (.github/workflows/grade-class.yml): a shard with no host is a
// success with empty reports; merge joins the shard folders there are and names the missing;
// a shard where not one host answers (a wrong key, known_hosts or inventory) fails in one line.
// The hosts are students' addresses on a loopback port where nothing listens.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { freeLoopbackPort } from '../helpers/offline/registry.ts';
import type { RunReport } from '../helpers/reporters/model.ts';
import { lessonCheck } from './support/cli.ts';

describe('a class over four shards', () => {
  test('two students unreachable: shards 1, 2 fail in a line, 3, 4 are empty; merge joins what there is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lc-class-'));
    const closed = await freeLoopbackPort();
    const inventory = join(dir, 'class.ini');
    writeFileSync(
      inventory,
      [
        `lab-1 ansible_host=127.0.0.1 ansible_port=${closed}`,
        `lab-2 ansible_host=127.0.0.1 ansible_port=${closed}`,
        '',
      ].join('\n'),
    );
    const shard = (i: number) => lessonCheck(['grade', '--inventory', inventory, '--shard', `${i}/4`]);
    const [one, two, three] = await Promise.all([shard(1), shard(2), shard(3)]);

    expect(one.exitCode, one.output).toBe(2);
    const said = one.output.split('\n').filter((l) => l.includes('no host could be reached'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/\(1 of 1; the first: .+\): check the SSH key, known_hosts and the inventory$/);
    // its reports are written all the same: the grader sees which host and why
    expect((JSON.parse(readFileSync(join(one.reportsDir, 'results.json'), 'utf8')) as RunReport).host).toBe('lab-1');

    expect(three.exitCode, three.output).toBe(0);
    expect(JSON.parse(readFileSync(join(three.reportsDir, 'results.json'), 'utf8'))).toEqual({ runs: [] });
    expect(three.output).toContain('shard 3/4 of 2 hosts has none to check');

    // shard 4's job died before it uploaded anything: its folder is not there
    const gone = join(dir, 'shard-4');
    const merged = await lessonCheck(['merge', one.reportsDir, two.reportsDir, three.reportsDir, gone]);
    expect(merged.exitCode, merged.output).toBe(1);
    expect(merged.output).toContain(`missing, left out: ${join(gone, 'results.json')}`);
    const runs = (JSON.parse(readFileSync(join(merged.reportsDir, 'results.json'), 'utf8')) as { runs: RunReport[] })
      .runs;
    expect(runs.map((r) => r.host)).toEqual(['lab-1', 'lab-2']);
    expect(existsSync(join(merged.reportsDir, 'gradebook.csv'))).toBe(true);

    const nothing = await lessonCheck(['merge', gone, join(dir, 'shard-5')]);
    expect(nothing.exitCode).toBe(2);
    expect(nothing.output).toContain('no results to join');
  });

  test('a --limit that leaves no host, or names nothing, is a usage error, not an empty class', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lc-class-'));
    const inventory = join(dir, 'class.ini');
    writeFileSync(inventory, 'lab-1 ansible_host=127.0.0.1\n');
    // every part names something, and together they leave no host
    const run = await lessonCheck(['grade', '--inventory', inventory, '--limit', 'lab-1:!ungrouped']);
    expect(run.exitCode).toBe(2);
    expect(run.output).toContain('no hosts to check (after --limit lab-1:!ungrouped)');
    // a part that names nothing is a typo, said as such
    const typo = await lessonCheck(['grade', '--inventory', inventory, '--limit', 'lab-9']);
    expect(typo.exitCode).toBe(2);
    expect(typo.output).toContain(`--limit lab-9: no group or host is called 'lab-9' in ${inventory}`);
  });
});
