/**
 * fast-check arbitraries from JSON schemas (the subset the API's schemas use: type,
 * enum, const, object/properties/required/additionalProperties/minProperties, string
 * lengths and patterns, format, integer and number bounds, arrays with items, sizes and
 * uniqueItems, oneOf/anyOf, and `$ref`s into the document). validValue() draws
 * instances that should pass the schema; invalidValue() draws near-misses that should
 * not (wrong types, missing required fields, extra fields, nulls, out-of-range and huge
 * numbers, over-long and junk strings, deep nesting); anyValue() mixes both.
 *
 * Some JSON can be written but not built as a JS value (1e400, 30-digit integers, a
 * 5,000-deep array): rawJson() stands for such text and toJsonText() splices it in.
 */
import fc from 'fast-check';

export type Schema = Record<string, unknown>;

export interface SchemaArbitraryOptions {
  /** The document `$ref`s point into, e.g. `#/components/schemas/policyBody`. */
  root?: unknown;
  /** Strings for a pattern (keyed by the pattern's text), instead of drawing from the regex alone. */
  patterns?: Record<string, fc.Arbitrary<string>>;
  /** Strings for a format (keyed by its name: uuid, date-time, ...), instead of the generator's own. */
  formats?: Record<string, fc.Arbitrary<string>>;
  /** Values for a property of this name wherever it appears, mixed with those its schema gives. */
  properties?: Record<string, fc.Arbitrary<unknown>>;
  /** Nesting depth past which optional parts are left out and mutations stop descending. */
  maxDepth?: number;
}

// Raw JSON text -------------------------------------------------------------------------

const RAW = /"\\u0000raw:([A-Za-z0-9+/=]*)\\u0000"/g;

/** A placeholder for JSON text that is no JS value; toJsonText() writes the text itself. */
export function rawJson(text: string): string {
  return `\u0000raw:${Buffer.from(text, 'utf8').toString('base64')}\u0000`;
}

/** JSON.stringify, with every rawJson() placeholder replaced by its text. */
export function toJsonText(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.replace(RAW, (_, base64: string) => Buffer.from(base64, 'base64').toString('utf8'));
}

// Junk ------------------------------------------------------------------------------------

/** Strings that have broken SQL, parsers and logs elsewhere. */
export const NASTY_STRINGS = [
  "'",
  "''",
  "1' OR '1'='1",
  "'; DROP TABLE incidents; --",
  '"; SELECT pg_sleep(1); --',
  '\\',
  '%',
  '%%',
  '_',
  '%00',
  '\u0000',
  'a\u0000b',
  '\u202e\u0644\u0627',
  '\ud83d\ude00\ud83d\udd25',
  '\ufeff',
  '\u00a0',
  ' ',
  '\t\n\r',
  'NaN',
  'Infinity',
  '-1',
  '0',
  '1e309',
  '9999999999999999999999',
  'null',
  'true',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  'toString',
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  'GGGGGGGG-GGGG-GGGG-GGGG-GGGGGGGGGGGG',
  '2026-02-30T09:00:00Z',
  '2026-03-01T24:00:00Z',
  '0000-00-00T00:00:00+99:99',
  '275760-09-13T00:00:00Z',
  '9999-12-31T23:59:59.999999-23:59',
  '0000-01-01',
  '2026-02-29',
  '99999999999999999999d',
  '0s',
  '1ms',
  'Europe/Nowhere',
  'Etc/GMT+13',
  'utc',
];

/** Any string: nasty ones, unicode, control characters, and long ones. */
export const junkString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 201, max: 12_000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...NASTY_STRINGS), fc.integer({ min: 2, max: 300 })).map(([s, n]) => s.repeat(n)) },
);

/** Numbers at and past the edges: JS's, Postgres' integer and bigint, JSON's. */
export const hugeNumber: fc.Arbitrary<unknown> = fc.constantFrom(
  2147483647,
  2147483648,
  -2147483649,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  2 ** 63,
  -(2 ** 63),
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  -0,
  0.5,
  1e21,
  rawJson('1e400'),
  rawJson('-1e400'),
  rawJson('123456789012345678901234567890'),
  rawJson('9223372036854775808'),
  rawJson('1.0'),
  rawJson('1E2'),
  rawJson('0.1e-400'),
);

/** `[[[...]]]` or `{"a":{"a":...}}`, this deep, as raw JSON. */
function deeplyNested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Any JSON value, including edge numbers, junk strings and deep nesting. */
export const junkValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 3, arbitrary: junkString },
  { weight: 2, arbitrary: hugeNumber },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}, '', 0, -1) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 10, max: 5000 }), fc.constantFrom('array' as const, 'object' as const))
      .map(([depth, kind]) => rawJson(deeplyNested(depth, kind))),
  },
);

// Schemas -----------------------------------------------------------------------------

const TYPES = ['string', 'integer', 'number', 'boolean', 'null', 'array', 'object'] as const;
type Type = (typeof TYPES)[number];

/** A value of each JSON type, for "wrong type" mutations. */
const VALUE_OF_TYPE: Record<Type, fc.Arbitrary<unknown>> = {
  string: junkString,
  integer: fc.oneof(
    fc.integer(),
    hugeNumber.filter((n) => typeof n === 'number' && Number.isInteger(n)),
  ),
  number: fc.constantFrom(0.5, -1.25, 1e-7, 3.14159),
  boolean: fc.boolean(),
  null: fc.constant(null),
  array: fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 4 }),
  object: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }),
};

function asSchema(value: unknown): Schema {
  return typeof value === 'object' && value !== null ? (value as Schema) : {};
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

/** Follows a `#/a/b/c` JSON pointer in the root. */
function resolve(schema: Schema, options: SchemaArbitraryOptions): Schema {
  let current = schema;
  for (let hops = 0; typeof current.$ref === 'string' && hops < 20; hops += 1) {
    const pointer = current.$ref;
    if (!pointer.startsWith('#/')) throw new Error(`cannot resolve ${pointer}: only local references`);
    let target: unknown = options.root;
    for (const part of pointer.slice(2).split('/')) {
      target = asSchema(target)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    if (target === undefined) throw new Error(`cannot resolve ${pointer}`);
    current = asSchema(target);
  }
  return current;
}

/** The types a schema allows; undefined when it does not say (enum, const, oneOf). */
function typesOf(schema: Schema): Type[] | undefined {
  const type = schema.type;
  if (typeof type === 'string') return [type as Type];
  if (Array.isArray(type)) return type as Type[];
  if (schema.properties !== undefined) return ['object'];
  if (schema.items !== undefined) return ['array'];
  return undefined;
}

/** A value the schema accepts (as far as a generator can tell: patterns and formats are drawn, not proven). */
export function validValue(schema: unknown, options: SchemaArbitraryOptions = {}, depth = 0): fc.Arbitrary<unknown> {
  if (schema === true || schema === undefined) return fc.jsonValue({ maxDepth: 2 });
  if (schema === false) return fc.constant(undefined);
  const s = resolve(asSchema(schema), options);
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  const branches = (Array.isArray(s.oneOf) ? s.oneOf : Array.isArray(s.anyOf) ? s.anyOf : undefined) as unknown[] | undefined;
  if (branches) return fc.oneof(...branches.map((branch) => validValue(branch, options, depth)));
  const types = typesOf(s);
  if (!types) return fc.jsonValue({ maxDepth: 2 });
  return fc.oneof(...types.map((type) => validOfType(s, type, options, depth)));
}

function validOfType(s: Schema, type: Type, options: SchemaArbitraryOptions, depth: number): fc.Arbitrary<unknown> {
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer': {
      const min = numberOr(s.minimum, numberOr(s.exclusiveMinimum, -(2 ** 31) - 1) + 1);
      const max = numberOr(s.maximum, numberOr(s.exclusiveMaximum, 2 ** 31) - 1);
      return fc.integer({ min, max });
    }
    case 'number':
      return fc.double({ min: numberOr(s.minimum, -1e9), max: numberOr(s.maximum, 1e9), noNaN: true, noDefaultInfinity: true });
    case 'string':
      return validString(s, options);
    case 'array': {
      const items = validValue(s.items ?? true, options, depth + 1);
      const minLength = numberOr(s.minItems, 0);
      const maxLength = Math.max(minLength, Math.min(numberOr(s.maxItems, 5), depth >= (options.maxDepth ?? 4) ? minLength : 5));
      return s.uniqueItems === true
        ? fc.uniqueArray(items, { minLength, maxLength, selector: (item) => JSON.stringify(item) })
        : fc.array(items, { minLength, maxLength });
    }
    case 'object':
      return validObject(s, options, depth);
  }
}

/**
 * String arbitraries, built once per set of constraints: building one is slow (a
 * stringMatching parses its regex, a unit maps every character it can draw), and
 * every schema of every operation asks for its own.
 */
const STRINGS = new Map<string, fc.Arbitrary<string>>();
function once(key: string, build: () => fc.Arbitrary<string>): fc.Arbitrary<string> {
  let arbitrary = STRINGS.get(key);
  if (!arbitrary) STRINGS.set(key, (arbitrary = build()));
  return arbitrary;
}

function matching(pattern: string, maxLength: number): fc.Arbitrary<string> {
  return once(`/${pattern}/${maxLength}`, () => fc.stringMatching(new RegExp(pattern), { maxLength }));
}

function text(unit: 'grapheme-ascii' | 'grapheme' | 'binary', minLength: number, maxLength: number): fc.Arbitrary<string> {
  return once(`${unit}:${minLength}:${maxLength}`, () => fc.string({ unit, minLength, maxLength }));
}

function validString(s: Schema, options: SchemaArbitraryOptions): fc.Arbitrary<string> {
  const minLength = numberOr(s.minLength, 0);
  const maxLength = numberOr(s.maxLength, 60);
  const fits = (text: string) => text.length >= minLength && text.length <= maxLength;
  const pattern = typeof s.pattern === 'string' ? s.pattern : undefined;
  if (pattern !== undefined) {
    const drawn = matching(pattern, maxLength).filter(fits);
    const given = options.patterns?.[pattern];
    return given ? fc.oneof({ weight: 5, arbitrary: given }, { weight: 1, arbitrary: drawn }) : drawn;
  }
  const format = typeof s.format === 'string' ? options.formats?.[s.format] : undefined;
  if (format) return format;
  if (s.format === 'uuid') return fc.uuid();
  if (s.format === 'date-time') return fc.date({ noInvalidDate: true }).map((date) => date.toISOString());
  const upTo = Math.min(maxLength, minLength + 30);
  const short = text('grapheme-ascii', minLength, upTo);
  return fc.oneof(
    { weight: 6, arbitrary: short },
    { weight: 2, arbitrary: text('grapheme', minLength, upTo).filter(fits) },
    { weight: 2, arbitrary: text('binary', minLength, upTo).filter(fits) },
    { weight: 1, arbitrary: text('grapheme-ascii', maxLength, maxLength) },
    // JSON allows U+0000 in a string and the schema does not refuse it; Postgres text cannot hold it.
    {
      weight: 1,
      arbitrary: fc
        .tuple(short, fc.nat())
        .map(([text, at]) => `${text.slice(0, at % (text.length + 1))}\u0000${text.slice(at % (text.length + 1))}`)
        .filter(fits),
    },
  );
}

function validObject(s: Schema, options: SchemaArbitraryOptions, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const properties = asSchema(s.properties);
  const required = new Set((s.required as string[] | undefined) ?? []);
  const deep = depth >= (options.maxDepth ?? 4);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, property] of Object.entries(properties)) {
    if (deep && !required.has(name)) continue;
    const fromSchema = validValue(property, options, depth + 1);
    const hint = options.properties?.[name];
    model[name] = hint ? fc.oneof({ weight: 3, arbitrary: hint }, { weight: 1, arbitrary: fromSchema }) : fromSchema;
  }
  const minProperties = numberOr(s.minProperties, 0);
  const record = fc.record(model, { requiredKeys: [...required].filter((name) => name in model), noNullPrototype: true });
  return minProperties > 0 ? record.filter((value) => Object.keys(value).length >= minProperties) : record;
}

/** A value the schema should refuse: one rule broken, at the top or somewhere inside. */
export function invalidValue(schema: unknown, options: SchemaArbitraryOptions = {}, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(asSchema(schema), options);
  const types = typesOf(s);
  const wrongType = types
    ? fc
        .constantFrom(...TYPES.filter((type) => !types.includes(type) && !(type === 'integer' && types.includes('number'))))
        .chain((type) => VALUE_OF_TYPE[type])
    : junkValue;
  const mutations: fc.WeightedArbitrary<unknown>[] = [
    { weight: 3, arbitrary: wrongType },
    { weight: 1, arbitrary: junkValue },
  ];
  if (!types?.includes('null')) mutations.push({ weight: 1, arbitrary: fc.constant(null) });
  if (Array.isArray(s.enum) || 'const' in s) mutations.push({ weight: 2, arbitrary: junkString });
  if (types?.includes('string')) mutations.push({ weight: 3, arbitrary: invalidString(s) });
  if (types?.includes('integer') || types?.includes('number')) mutations.push({ weight: 3, arbitrary: invalidNumber(s) });
  if (types?.includes('array')) mutations.push({ weight: 3, arbitrary: invalidArray(s, options, depth) });
  if (types?.includes('object') && depth < (options.maxDepth ?? 4)) mutations.push({ weight: 4, arbitrary: invalidObject(s, options, depth) });
  return fc.oneof(...mutations);
}

function invalidString(s: Schema): fc.Arbitrary<unknown> {
  const minLength = numberOr(s.minLength, 0);
  const maxLength = typeof s.maxLength === 'number' ? s.maxLength : undefined;
  const cases: fc.Arbitrary<unknown>[] = [junkString];
  if (maxLength !== undefined) cases.push(fc.integer({ min: maxLength + 1, max: maxLength + 200 }).map((n) => 'x'.repeat(n)));
  if (minLength > 0) cases.push(fc.constant('x'.repeat(minLength - 1)));
  if (typeof s.pattern === 'string' || typeof s.format === 'string') cases.push(fc.constantFrom(' ', '   ', '\t', 'not-matching', ''));
  return fc.oneof(...cases);
}

function invalidNumber(s: Schema): fc.Arbitrary<unknown> {
  const cases: fc.Arbitrary<unknown>[] = [hugeNumber];
  if (typeof s.minimum === 'number') cases.push(fc.integer({ min: Math.max(s.minimum - 1000, -(2 ** 53)), max: s.minimum - 1 }));
  if (typeof s.maximum === 'number') cases.push(fc.integer({ min: s.maximum + 1, max: s.maximum + 1_000_000 }));
  if (s.type === 'integer') cases.push(fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n)));
  return fc.oneof(...cases);
}

function invalidArray(s: Schema, options: SchemaArbitraryOptions, depth: number): fc.Arbitrary<unknown> {
  const items = validValue(s.items ?? true, options, depth + 1);
  const cases: fc.Arbitrary<unknown>[] = [
    // One item broken, the rest valid.
    fc
      .tuple(fc.array(items, { maxLength: 3 }), invalidValue(s.items ?? {}, options, depth + 1), fc.nat())
      .map(([good, bad, at]) => [...good.slice(0, at % (good.length + 1)), bad, ...good.slice(at % (good.length + 1))]),
  ];
  if (typeof s.maxItems === 'number') {
    const maxItems = s.maxItems;
    cases.push(items.chain((item) => fc.integer({ min: maxItems + 1, max: maxItems + 20 }).map((n) => Array.from({ length: n }, () => item))));
  }
  if (typeof s.minItems === 'number' && s.minItems > 0) cases.push(fc.constant([]));
  if (s.uniqueItems === true) cases.push(items.map((item) => [item, item]));
  return fc.oneof(...cases);
}

function invalidObject(s: Schema, options: SchemaArbitraryOptions, depth: number): fc.Arbitrary<unknown> {
  const valid = validObject(s, options, depth);
  const properties = Object.keys(asSchema(s.properties));
  const required = (s.required as string[] | undefined) ?? [];
  const cases: fc.Arbitrary<unknown>[] = [
    // An unknown field (refused where additionalProperties is false).
    fc
      .tuple(valid, fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'id', 'version', 'state')), junkValue)
      .map(([value, key, extra]) =>
        key in value ? value : Object.defineProperty({ ...value }, key, { value: extra, enumerable: true, writable: true, configurable: true }),
      ),
    // Every field null.
    valid.map((value) => Object.fromEntries(Object.keys(value).map((key) => [key, null]))),
  ];
  if (required.length > 0) {
    cases.push(fc.tuple(valid, fc.constantFrom(...required)).map(([value, key]) => Object.fromEntries(Object.entries(value).filter(([name]) => name !== key))));
  }
  if (properties.length > 0) {
    // One field broken, the rest valid (descends into nested objects and arrays).
    const broken = properties.map((key) =>
      fc.tuple(valid, invalidValue(asSchema(s.properties)[key], options, depth + 1)).map(([value, bad]) => ({ ...value, [key]: bad })),
    );
    cases.push(fc.oneof(...broken));
  }
  return fc.oneof(...cases);
}

/** Mostly valid values, often a near-miss: the mix a fuzzer wants. */
export function anyValue(schema: unknown, options: SchemaArbitraryOptions = {}): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 3, arbitrary: validValue(schema, options) }, { weight: 2, arbitrary: invalidValue(schema, options) });
}
