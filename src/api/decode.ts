import type { Static, TSchema } from "typebox";
import { Value } from "typebox/value";

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

/** Checks `value` against `schema` and returns it typed, or throws DecodeError naming the first bad field. */
export function decode<S extends TSchema>(schema: S, value: unknown, what: string): Static<S> {
  if (Value.Check(schema, value)) return value;
  const [first] = Value.Errors(schema, value);
  if (!first) throw new DecodeError(what, "", "does not match its schema");
  // A missing field is reported at its parent: name the field itself.
  const missing = first.keyword === "required" ? first.params.requiredProperties[0] : undefined;
  if (missing !== undefined) throw new DecodeError(what, `${first.instancePath}/${missing}`, "is required");
  throw new DecodeError(what, first.instancePath, first.message);
}
