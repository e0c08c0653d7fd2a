/** Words for people for every coded value, Vietnamese first: generated from schema/labels.py
 * (``tests/conformance/generate.py --labels``), never retyped; the conformance file checks it. */

import tables from "./generated/labels.json" with { type: "json" }

export type Lang = "vi" | "en"
export type LabelTables = Record<string, Record<string, { vi: string; en: string }>>

export const LABELS: LabelTables = tables

/** The label of ``code`` in ``table``, or the code itself for a value a newer schema added. */
export function label(table: string, code: string, lang: Lang = "vi"): string {
  const words = LABELS[table]?.[code]
  return words === undefined ? code : words[lang]
}

export function words(table: string, lang: Lang): Record<string, string> {
  return Object.fromEntries(Object.entries(LABELS[table] ?? {}).map(([k, v]) => [k, v[lang]]))
}
