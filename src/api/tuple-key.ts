/**
 * One Map key for several strings, none of which can be mistaken for another's part: a JSON array, so
 * ("a/b", "c") and ("a", "b/c") stay two keys whatever characters the parts hold.
 */
export function tupleKey(...parts: readonly string[]): string {
  return JSON.stringify(parts);
}
