/**
 * Values that a JSON Schema (the subset zod writes into our OpenAPI document) says are valid, as fast-check
 * arbitraries: what a fuzzer of the document would send. Lengths count code points, as JSON Schema does, and
 * strings of exactly maxLength code points, some beyond the BMP, are favoured; a `pattern` is honoured (lookaheads by filtering), as are `allOf: [{ pattern }]`, `not: { pattern }` (on integers `not: { const }`), `enum`, `const`, `oneOf`/`anyOf`,
 * required and optional properties, integer bounds and array sizes. A schema it does not understand throws, so
 * a test cannot pass by generating nothing.
 */
import fc from 'fast-check';

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  minProperties?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  not?: JsonSchema;
  allOf?: JsonSchema[];
  default?: unknown;
}

const codePoints = (s: string) => [...s].length;
const LOOKAROUND = /\(\?<?[=!][^()]*\)/g;

function stringArbitrary(s: JsonSchema): fc.Arbitrary<string> {
  const min = s.minLength ?? 0;
  const max = s.maxLength ?? Math.max(min, 40);
  let arb: fc.Arbitrary<string>;
  if (s.format === 'uuid') arb = fc.uuid();
  else if (s.format === 'date-time') arb = fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
  else if (s.format === 'date') arb = fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
  else if (s.format) throw new Error(`json-schema-arbitrary: format ${s.format} not supported`);
  else {
    const pattern = s.pattern ? new RegExp(s.pattern, 'u') : undefined;
    const generative = pattern ? new RegExp(s.pattern!.replace(LOOKAROUND, '')) : undefined;
    // A pattern that only excludes characters (^[^...]*$) says little about shape: any text, then filtered.
    const anyText = fc.oneof(
      fc.string({ unit: 'binary', minLength: min, maxLength: max }),
      fc.string({ unit: 'grapheme', minLength: min, maxLength: max }),
      fc.string({ unit: fc.constantFrom(' ', '\t', '\u00a0', '\ufeff', '\u3000', '4', '2', '-'), minLength: min, maxLength: max }),
      // At the limit, in characters outside the BMP (two UTF-16 units each): a length counted in units, not code
      // points as JSON Schema counts, refuses these.
      // (Not for limits beyond a few thousand, such as a CSV body's.)
      fc.string({ unit: fc.constantFrom('\u{1F600}', '\u{1D11E}', '\u{20BB7}', 'a'), minLength: Math.min(max, 4096), maxLength: Math.min(max, 4096) }),
    );
    arb = generative && !/^\^\[\^[^\]]*\]\*\$$/.test(s.pattern!) ? fc.oneof(fc.stringMatching(generative), anyText) : anyText;
    if (pattern) arb = arb.filter((v) => pattern.test(v));
  }
  arb = arb.filter((v) => codePoints(v) >= min && (s.maxLength === undefined || codePoints(v) <= s.maxLength));
  for (const also of s.allOf ?? []) {
    const { pattern, ...rest } = also;
    if (!pattern || Object.keys(rest).length) throw new Error('json-schema-arbitrary: only allOf: [{ pattern }] is supported');
    const required = new RegExp(pattern, 'u');
    arb = arb.filter((v) => required.test(v));
  }
  if (s.not) {
    const { pattern, ...rest } = s.not;
    if (!pattern || Object.keys(rest).length) throw new Error('json-schema-arbitrary: only not: { pattern } is supported');
    const banned = new RegExp(pattern, 'u');
    arb = arb.filter((v) => !banned.test(v));
  }
  return arb;
}

export function arbitraryFor(s: JsonSchema): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  if (s.oneOf) return fc.oneof(...s.oneOf.map(arbitraryFor));
  if (s.anyOf) return fc.oneof(...s.anyOf.map(arbitraryFor));
  const type = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (type.length > 1) return fc.oneof(...type.map((t) => arbitraryFor({ ...s, type: t })));
  switch (type[0]) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      if (s.not) {
        const { const: banned, ...rest } = s.not;
        if (banned === undefined || Object.keys(rest).length) throw new Error('json-schema-arbitrary: only not: { const } is supported on numbers');
        return arbitraryFor({ ...s, not: undefined }).filter((n) => n !== banned);
      }
      return fc.integer({ min: Math.max(s.minimum ?? -(2 ** 31), Number.MIN_SAFE_INTEGER), max: Math.min(s.maximum ?? 2 ** 31, Number.MAX_SAFE_INTEGER) }).chain((n) =>
        // Bounds are where limits break: favour them.
        fc.constantFrom(n, s.minimum ?? n, s.maximum ?? n),
      );
    case 'number':
      return fc.double({ min: s.minimum, max: s.maximum, noNaN: true, noDefaultInfinity: true });
    case 'string':
      return stringArbitrary(s);
    case 'array':
      if (!s.items) throw new Error('json-schema-arbitrary: an array without items');
    {
      // Up to five more than the minimum: enough to reach small limits without building huge bodies.
      const minLength = s.minItems ?? 0;
      return fc.array(arbitraryFor(s.items), { minLength, maxLength: Math.min(s.maxItems ?? minLength + 5, minLength + 5) });
    }
    case 'object': {
      const props = s.properties ?? {};
      const fixed = fc.record(
        Object.fromEntries(Object.entries(props).map(([k, v]) => [k, arbitraryFor(v)])),
        { requiredKeys: (s.required ?? []).filter((k) => k in props) },
      ) as fc.Arbitrary<Record<string, unknown>>;
      if (typeof s.additionalProperties !== 'object') return fixed.filter((o) => Object.keys(o).length >= (s.minProperties ?? 0));
      const keys = s.propertyNames ? stringArbitrary({ type: 'string', ...s.propertyNames }) : fc.string();
      const extra = fc.dictionary(keys.filter((k) => !(k in props)), arbitraryFor(s.additionalProperties), { maxKeys: 5 });
      return fc.tuple(fixed, extra).map(([a, b]) => ({ ...b, ...a }));
    }
    default:
      throw new Error(`json-schema-arbitrary: schema not supported: ${JSON.stringify(s).slice(0, 200)}`);
  }
}
