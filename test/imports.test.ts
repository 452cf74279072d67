// The house's layering, read from the imports: no cycle among helpers/ and suites/ (type-only
// imports counted: they couple files as much), and what verify loads holds nothing of the sandbox
// lab, the machine, the walks or their shared offline parts (helpers/lab/, machine/, walk/,
// offline/): inspecting a host needs none of them.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ROOT } from '../helpers/util/root.ts';

interface Edge {
  to: string;
  typeOnly: boolean;
}

/** Every .ts file under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Each file's relative imports and re-exports (static ones; `import type` marked). */
function importGraph(files: string[]): Map<string, Edge[]> {
  const graph = new Map<string, Edge[]>();
  for (const f of files) {
    const text = readFileSync(join(ROOT, f), 'utf8');
    const edges = [...text.matchAll(/^(?:import|export)\s+(type\s+)?[^'"]*?from\s+'(\.[^']+)'/gm)].map((m) => ({
      to: relative(ROOT, resolve(ROOT, dirname(f), m[2]!)),
      typeOnly: m[1] !== undefined,
    }));
    graph.set(f, edges);
  }
  return graph;
}

/** The cycles, each as the files on it (Tarjan's strongly connected components). */
function cycles(graph: Map<string, Edge[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    for (const { to } of graph.get(v) ?? []) {
      if (!graph.has(to)) continue;
      if (!index.has(to)) {
        visit(to);
        low.set(v, Math.min(low.get(v)!, low.get(to)!));
      } else if (stack.includes(to)) low.set(v, Math.min(low.get(v)!, index.get(to)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      component.push(w);
    } while (w !== v);
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** What loading `starts` loads: their value imports, transitively. */
function loads(graph: Map<string, Edge[]>, starts: string[]): string[] {
  const seen = new Set<string>();
  const todo = [...starts];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f) || !graph.has(f)) continue;
    seen.add(f);
    todo.push(
      ...graph
        .get(f)!
        .filter((e) => !e.typeOnly)
        .map((e) => e.to),
    );
  }
  return [...seen].sort();
}

describe('the imports', () => {
  const graph = importGraph([...sources('helpers'), ...sources('suites')]);

  test('no cycle among helpers/ and suites/', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(cycles(graph)).toEqual([]);
  });

  test('verify loads nothing of the sandbox lab, the machine, the walks or their offline parts', () => {
    const verify = loads(graph, ['helpers/commands/inspect.ts', ...sources('suites')]);
    expect(verify).toContain('helpers/checks/check.ts');
    expect(verify).toContain('helpers/system/cni-probe.ts');
    expect(verify.filter((f) => /^helpers\/(lab|machine|walk|offline)\//.test(f))).toEqual([]);
  });
});
