import type { Static, TSchema } from "typebox";
import { Compile, type Validator } from "typebox/compile";

/** Data from outside the process (the API server, ECM) that does not match its schema. */
export class DecodeError extends Error {
  /** JSON pointer to the first field that does not match, "" for the whole value. */
  readonly field: string;

  constructor(what: string, field: string, problem: string) {
    super(`${what}: ${field === "" ? "the value" : field} ${problem}`);
    this.name = "DecodeError";
    this.field = field;
  }
}

/**
 * Each schema's checker, compiled once: a compiled check is a plain function of the schema's fields,
 * several times cheaper than walking the schema for every object (every watch event, every answer).
 */
const validators = new WeakMap<TSchema, Validator>();

function validator(schema: TSchema): Validator {
  let compiled = validators.get(schema);
  if (!compiled) {
    compiled = Compile(schema);
    validators.set(schema, compiled);
  }
  return compiled;
}

/** Whether `value` matches `schema`, with the schema's compiled checker. */
export function matches<S extends TSchema>(schema: S, value: unknown): value is Static<S> {
  return validator(schema).Check(value);
}

/** Checks `value` against `schema` and returns it typed, or throws DecodeError naming the first bad field. */
export function decode<S extends TSchema>(schema: S, value: unknown, what: string): Static<S> {
  if (matches(schema, value)) return value;
  const [first] = validator(schema).Errors(value);
  if (!first) throw new DecodeError(what, "", "does not match its schema");
  // A missing field is reported at its parent: name the field itself.
  const missing = first.keyword === "required" ? first.params.requiredProperties[0] : undefined;
  if (missing !== undefined) throw new DecodeError(what, `${first.instancePath}/${missing}`, "is required");
  throw new DecodeError(what, first.instancePath, first.message);
}
