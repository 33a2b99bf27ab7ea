// Checks of request parameters, in the order the service applies them: unknown names, missing ones,
// JSON types, then values. Each failure throws the ApiError ECM answers.
import { ApiError } from "./error-codes.ts";
import type { JsonObject, JsonValue } from "./json.ts";

export const ENI_ID_PATTERN = /^eni-[a-z0-9]{8}$/;
export const INSTANCE_ID_PATTERN = /^(ein|ins)-[a-z0-9]{8}$/;

export function rejectUnknown(params: JsonObject, known: readonly string[]): void {
  const unknown = Object.keys(params).find((name) => !known.includes(name));
  if (unknown !== undefined) {
    throw new ApiError("UnknownParameter", `The parameter \`${unknown}\` is not recognized.`);
  }
}

export function requirePresent(params: JsonObject, required: readonly string[]): void {
  const missing = required.find((name) => params[name] === undefined);
  if (missing !== undefined) {
    throw new ApiError("MissingParameter", `The request is missing a required parameter \`${missing}\`.`);
  }
}

function wrongType(name: string, expected: string): ApiError {
  return new ApiError("InvalidParameter.InvalidDataFormat", `The parameter \`${name}\` must be ${expected}.`);
}

export function stringParam(params: JsonObject, name: string): string {
  const value = params[name];
  if (typeof value !== "string") throw wrongType(name, "a string");
  return value;
}

export function optionalCount(params: JsonObject, name: string): number | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw wrongType(name, "a non-negative integer");
  }
  return value;
}

function isStringArray(value: JsonValue | undefined): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

export function optionalStrings(params: JsonObject, name: string): string[] | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (!isStringArray(value)) throw wrongType(name, "an array of strings");
  return value;
}

export interface Filter {
  name: string;
  values: string[];
}

export function optionalFilters(params: JsonObject, name: string): Filter[] | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw wrongType(name, "an array of {Name, Values}");
  return value.map((item) => {
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      throw wrongType(name, "an array of {Name, Values}");
    }
    const { Name, Values, ...rest } = item;
    if (typeof Name !== "string" || !isStringArray(Values) || Object.keys(rest).length > 0) {
      throw wrongType(name, "an array of {Name, Values}");
    }
    return { name: Name, values: Values };
  });
}

export function checkRegion(region: string, regions: ReadonlySet<string>): void {
  if (!regions.has(region)) {
    throw new ApiError("InvalidParameterValue.InvalidRegion", `The ECM region \`${region}\` is invalid.`);
  }
}

export function checkId(value: string, pattern: RegExp, name: string, example: string): void {
  if (!pattern.test(value)) {
    throw new ApiError(
      "InvalidParameterValue.Malformed",
      `The value \`${value}\` of parameter \`${name}\` is malformed; expected an id such as ${example}.`,
    );
  }
}
