// How the walkthrough talks to its reader: numbered sections, short notes, checks and small tables.

let sectionNumber = 0;

/** Starts a numbered section: `== 3. Start the operator ==...`. */
export function section(title: string): void {
  sectionNumber += 1;
  const heading = `== ${sectionNumber}. ${title} `;
  console.log(`\n${heading.padEnd(100, "=")}\n`);
}

export function say(text: string): void {
  console.log(text);
}

/** An outcome the walkthrough verified; failures throw before reaching this. */
export function checked(text: string): void {
  console.log(`   ok: ${text}`);
}

/** Fails the walkthrough with `message` unless `condition` holds. */
export function expect(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Left-aligned columns separated by three spaces, the way kubectl prints them. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("   ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** Milliseconds as a short human duration: 850 ms, 2.4 s. */
export function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
