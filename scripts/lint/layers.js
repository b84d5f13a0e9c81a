/**
 * The layers of src/, bottom first, and the lint rule that holds them
 * (`klaxon/layers`, enabled for src/ in eslint.config.js; docs/adr/0005).
 *
 * A folder of src/ may import its own files and those of any folder in a LOWER
 * layer; never a folder of its own layer or of a higher one. So the domain knows no
 * database, the engine knows no command, commands know no HTTP, and nothing below
 * src/main knows how the processes are put together. A new folder fails the rule
 * until it is given a layer here: this table is the one place the order is written.
 *
 * Plain JavaScript so that eslint.config.js loads it without a TypeScript loader; the
 * architecture test (test/unit/architecture.test.ts) reads the same table.
 */
import { dirname, relative, resolve, sep } from 'node:path';

/** Bottom first. */
export const LAYERS = [
  ['domain'], // pure decisions and the shapes they work on: no I/O
  ['schema', 'log'], // request/response schemas; the logger
  ['clock', 'config'], // time and deadlines; settings
  ['db', 'redis'], // the two stores: connections, queries, row mapping, keys
  ['metrics', 'auth', 'ratelimit'], // counters; who a caller is; how fast they may go
  ['engine'], // executing escalations, resolving targets, the Redis index
  ['commands'], // every change and read a caller asks for
  ['presenters'], // domain objects as the API and the CLI show them
  ['worker', 'notify'], // the escalation loop; delivering notifications (channels, templates, links)
  ['api', 'cli'], // the two ways in
  ['main'], // processes: wiring everything together
];

const RANK = new Map(LAYERS.flatMap((folders, rank) => folders.map((folder) => [folder, rank])));

/** `src/<folder>/...` → folder, or undefined for a path outside src/. */
function folderOf(srcRoot, path) {
  const rel = relative(srcRoot, path);
  if (rel.startsWith('..') || rel === '') return undefined;
  const [first, ...rest] = rel.split(sep);
  return rest.length === 0 ? '' : first; // '' : a file straight under src/
}

/**
 * Why `from` may not import `to` (both absolute paths), or undefined when it may.
 * Outside src/ a file may import packages and the project's package.json (its
 * version), nothing else: not test/, not scripts/.
 */
export function layerViolation(srcRoot, from, to) {
  const source = folderOf(srcRoot, from);
  if (source === undefined) return undefined;
  const target = folderOf(srcRoot, to);
  if (target === undefined) {
    if (to === resolve(srcRoot, '..', 'package.json')) return undefined;
    return `src/ may not import ${relative(dirname(srcRoot), to)}: only packages, package.json and src/ itself`;
  }
  if (source === target) return undefined;
  for (const folder of [source, target]) {
    if (!RANK.has(folder)) return `src/${folder || '*.ts'} has no layer: give it one in scripts/lint/layers.js`;
  }
  if (RANK.get(target) < RANK.get(source)) return undefined;
  const same = RANK.get(target) === RANK.get(source);
  return `src/${source} may not import src/${target}: ${same ? 'they are peers in one layer' : `src/${target} is a higher layer`} (scripts/lint/layers.js)`;
}

/** The ESLint rule: every relative import, export-from and literal dynamic import of a file under src/. */
export const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'a folder of src/ imports only from lower layers (scripts/lint/layers.js)' },
    schema: [{ type: 'object', properties: { srcRoot: { type: 'string' } }, required: ['srcRoot'], additionalProperties: false }],
    messages: { upward: '{{why}}' },
  },
  create(context) {
    const { srcRoot } = context.options[0];
    const check = (node) => {
      const specifier = node?.value;
      if (typeof specifier !== 'string' || !specifier.startsWith('.')) return;
      const why = layerViolation(srcRoot, context.physicalFilename, resolve(dirname(context.physicalFilename), specifier));
      if (why) context.report({ node, messageId: 'upward', data: { why } });
    };
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
    };
  },
};

export const layersPlugin = { rules: { layers: layersRule } };
