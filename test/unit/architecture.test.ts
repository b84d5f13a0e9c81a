/**
 * The shape of src/: no import cycles between its files, and the lint rule that keeps
 * each folder to lower layers (scripts/lint/layers.js) is on and refuses what it
 * should. `npm test` runs ESLint over the tree; this proves the rule it runs bites.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ESLint, Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import ts from 'typescript';
import { expect } from 'chai';
import { LAYERS, layersPlugin } from '../../scripts/lint/layers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SRC = join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** file → the files of src/ it imports (type-only imports too: they bind the design as much). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    graph.set(
      file,
      importedFiles
        .map(({ fileName }) => fileName)
        .filter((name) => name.startsWith('.'))
        .map((name) => resolve(dirname(file), name)),
    );
  }
  return graph;
}

/** The strongly connected components of more than one file (Tarjan), or a file importing itself. */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, counter);
    low.set(file, counter);
    counter++;
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(file, Math.min(low.get(file)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(file, Math.min(low.get(file)!, index.get(next)!));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(relative(ROOT, member));
    } while (member !== file);
    if (component.length > 1 || graph.get(file)!.includes(file)) found.push(component.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return found;
}

describe('architecture', () => {
  it('no file of src/ imports itself back through others', () => {
    const graph = importGraph();
    expect(graph.size).to.be.greaterThan(100);
    expect(cycles(graph)).to.deep.equal([]);
  });

  it('the cycle finder finds a cycle (so the test above can fail)', () => {
    const graph = new Map([
      ['/a.ts', ['/b.ts']],
      ['/b.ts', ['/c.ts']],
      ['/c.ts', ['/a.ts']],
      ['/d.ts', ['/a.ts']],
    ]);
    expect(cycles(graph)).to.have.length(1);
    expect(cycles(graph)[0]).to.have.length(3);
  });

  it('every top-level folder of src/ has a layer', () => {
    const folders = readdirSync(SRC, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    expect(folders.filter((folder) => !LAYERS.flat().includes(folder))).to.deep.equal([]);
  });

  it('ESLint runs the layers rule as an error on the files of src/ (and not on test/)', async () => {
    const eslint = new ESLint({ cwd: ROOT });
    const rule = async (file: string) => ((await eslint.calculateConfigForFile(file)) as Linter.Config).rules?.['klaxon/layers'];
    expect(await rule('src/metrics/metrics.ts')).to.deep.include.members([2]);
    expect(await rule('src/api/endpoints/incidents.ts')).to.deep.include.members([2]);
    expect(await rule('test/unit/architecture.test.ts')).to.equal(undefined);
  });

  describe('the layers rule', () => {
    const linter = new Linter({ configType: 'flat' });
    const config: Linter.Config[] = [
      {
        files: ['**/*.ts'],
        languageOptions: { parser: tseslint.parser },
        plugins: { klaxon: layersPlugin },
        rules: { 'klaxon/layers': ['error', { srcRoot: SRC }] },
      },
    ];
    const problems = (file: string, code: string) => linter.verify(code, config, { filename: join(ROOT, file) }).map((message) => message.message);

    it('refuses an upward import, naming both folders and the table', () => {
      expect(problems('src/metrics/probe.ts', "import type { ExecutionResult } from '../engine/executor.ts';")).to.deep.equal([
        'src/metrics may not import src/engine: src/engine is a higher layer (scripts/lint/layers.js)',
      ]);
      expect(problems('src/domain/probe.ts', "import { run } from '../db/queries.ts';")).to.have.length(1);
      expect(problems('src/engine/index/probe.ts', "import { openIncident } from '../../commands/open-incident.ts';")).to.have.length(1);
    });

    it('refuses a peer of the same layer, re-exports and literal dynamic imports too', () => {
      expect(problems('src/api/probe.ts', "export { runCli } from '../cli/main.ts';")).to.deep.equal([
        'src/api may not import src/cli: they are peers in one layer (scripts/lint/layers.js)',
      ]);
      expect(problems('src/db/probe.ts', "export * from '../redis/keys.ts';")).to.have.length(1);
      expect(problems('src/auth/probe.ts', "await import('../api/app.ts');")).to.have.length(1);
    });

    it('refuses a folder without a layer and a reach into test/ or scripts/', () => {
      expect(problems('src/newthing/probe.ts', "import { run } from '../db/queries.ts';")).to.deep.equal([
        'src/newthing has no layer: give it one in scripts/lint/layers.js',
      ]);
      expect(problems('src/api/probe.ts', "import { startStack } from '../../test/support/context.ts';")).to.have.length(1);
      expect(problems('src/api/probe.ts', "import '../../scripts/bench.ts';")).to.have.length(1);
    });

    it('lets a folder import its own files, lower layers, packages and package.json', () => {
      const allowed = [
        "import { run } from '../../db/queries.ts';",
        "import { presentIncident } from '../../presenters/incidents.ts';",
        "import { endpoint } from '../endpoint.ts';",
        "import Koa from 'koa';",
        "import pkg from '../../../package.json' with { type: 'json' };",
      ];
      for (const code of allowed) expect(problems('src/api/endpoints/probe.ts', code), code).to.deep.equal([]);
    });
  });
});
