/** Text at the schema boundary (schema/text.py): NFC, whitespace collapsed; names compared
 * case-folded. Python's ``\s`` and ``str.strip`` whitespace, not JavaScript's. */

const WS = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
const RUNS = new RegExp(`[${WS}]+`, "g")
const EDGES = new RegExp(`^[${WS}]+|[${WS}]+$`, "g")

export function clean(value: string): string {
  return value.normalize("NFC").replace(RUNS, " ").replace(EDGES, "")
}

export function cleanMultiline(value: string): string {
  return value.normalize("NFC")
}

/** Python's ``str.casefold`` for the letters that differ from ``toLowerCase``. */
const FOLDS: Record<string, string> = { "ß": "ss", "ẞ": "ss", "ς": "σ", "ſ": "s", "ﬁ": "fi", "ﬂ": "fl" }

export function nameKey(value: string): string {
  return Array.from(clean(value).toLowerCase(), ch => FOLDS[ch] ?? ch).join("")
}

/** Length in code points, as Python's ``len`` counts. */
export function codePoints(value: string): number {
  let n = 0
  for (const _ of value) n++
  return n
}
