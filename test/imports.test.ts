// The house's layering, read from the imports: no cycle among helpers/, suites/ and test/ (every
// kind of import counted: `import type`, `export type … from`, a type written `import('…').T`, a
// side effect's `import '…'` and a lazy `await import('…')` couple files as much as a value
// import), and what verify loads holds nothing of the sandbox lab, the machine, the walks or their
// shared offline parts (helpers/lab/, machine/, walk/, offline/): inspecting a host needs none of them.
import { readFileSync, readdirSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import { ROOT } from '../helpers/util/root.ts';

type EdgeKind = 'value' | 'type' | 'lazy';

interface Edge {
  to: string;
  /** value: loaded with the file; type: erased (`import type`, `import('…').T`); lazy: `import('…')`. */
  kind: EdgeKind;
}

/** Every .ts file under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** The relative imports of `file` (a path from the root) whose text is `text`, read by TypeScript's
 * parser: static imports and re-exports, type-only ones, import types, dynamic imports. */
export function importsOf(file: string, text: string): Edge[] {
  const edges: Edge[] = [];
  const add = (spec: string, kind: EdgeKind) => {
    if (spec.startsWith('.')) edges.push({ to: posix.normalize(posix.join(posix.dirname(file), spec)), kind });
  };
  const visit = (n: ts.Node) => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier))
      add(n.moduleSpecifier.text, n.importClause?.isTypeOnly ? 'type' : 'value');
    else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier))
      add(n.moduleSpecifier.text, n.isTypeOnly ? 'type' : 'value');
    else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal))
      add(n.argument.literal.text, 'type');
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [spec] = n.arguments;
      if (spec && ts.isStringLiteralLike(spec)) add(spec.text, 'lazy');
    }
    ts.forEachChild(n, visit);
  };
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true));
  return edges;
}

/** Each file's relative imports. */
function importGraph(files: string[]): Map<string, Edge[]> {
  return new Map(files.map((f) => [f, importsOf(f, readFileSync(join(ROOT, f), 'utf8'))]));
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
        .filter((e) => e.kind === 'value')
        .map((e) => e.to),
    );
  }
  return [...seen].sort();
}

describe('the imports', () => {
  const graph = importGraph([...sources('helpers'), ...sources('suites'), ...sources('test')]);

  test('no cycle among helpers/, suites/ and test/, through any kind of import', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(cycles(graph)).toEqual([]);
  });

  test('every kind of import is an edge: a cycle through `import type` alone is one', () => {
    const a = 'helpers/a.ts';
    const b = 'helpers/b/b.ts';
    const edgesA = importsOf(
      a,
      [
        'import type {',
        '  B,',
        "} from './b/b.ts';",
        "export type { C } from './c.ts';",
        "import './side-effect.ts';",
        "let x: import('./d.ts').D;",
        "const e = await import('./e.ts');",
        "// import { F } from './f.ts';",
      ].join('\n'),
    );
    expect(edgesA).toEqual([
      { to: 'helpers/b/b.ts', kind: 'type' },
      { to: 'helpers/c.ts', kind: 'type' },
      { to: 'helpers/side-effect.ts', kind: 'value' },
      { to: 'helpers/d.ts', kind: 'type' },
      { to: 'helpers/e.ts', kind: 'lazy' },
    ]);
    const edgesB = importsOf(b, "import { type A } from '../a.ts';");
    expect(edgesB).toEqual([{ to: 'helpers/a.ts', kind: 'value' }]);
    const typeOnly = new Map([
      [a, edgesA],
      [b, importsOf(b, "import type { A } from '../a.ts';")],
    ]);
    expect(cycles(typeOnly)).toEqual([[a, b]]);
  });

  test('verify loads nothing of the sandbox lab, the machine, the walks or their offline parts', () => {
    const verify = loads(graph, ['helpers/commands/inspect.ts', ...sources('suites')]);
    expect(verify).toContain('helpers/checks/check.ts');
    expect(verify).toContain('helpers/system/cni-probe.ts');
    expect(verify.filter((f) => /^helpers\/(lab|machine|walk|offline)\//.test(f))).toEqual([]);
  });
});
