/** Duplicate party card numbers and likely duplicate members (conflict_rules/duplicates.py). */

import { byCodePoint } from "../rules/access.js"
import { get, isMap, type PlainMap } from "../rules/plain.js"
import { nameKey } from "../rules/text.js"
import { survivors } from "./merges.js"

export const DISTINCT_PREFIX = "distinct_from_"

export interface DuplicatePair {
  kind: "duplicate_card_number" | "likely_duplicate"
  first: string
  second: string
}

export function markedDistinct(records: Record<string, PlainMap>, a: string, b: string): boolean {
  return get(records[a], DISTINCT_PREFIX + b) === true || get(records[b], DISTINCT_PREFIX + a) === true
}

function textOf(record: PlainMap, key: string): string | null {
  const value = get(record, key)
  return typeof value === "string" && value.trim() !== "" ? value : null
}

export function likelySamePerson(a: PlainMap, b: PlainMap): boolean {
  const na = textOf(a, "full_name")
  const nb = textOf(b, "full_name")
  if (na === null || nb === null || nameKey(na) !== nameKey(nb)) return false
  const ba = textOf(a, "birth_date")
  const bb = textOf(b, "birth_date")
  return ba === null || bb === null || ba === bb
}

export function sameCard(a: PlainMap, b: PlainMap): boolean {
  const ca = textOf(a, "card_number")
  const cb = textOf(b, "card_number")
  return ca !== null && ca === cb
}

export function duplicatePairs(members: Record<string, unknown>): DuplicatePair[] {
  const records: Record<string, PlainMap> = {}
  for (const [m, r] of Object.entries(members)) if (isMap(r)) records[m] = r
  const merged = survivors(Object.fromEntries(Object.entries(records).map(([m, r]) => [m, get(r, "merged_into") ?? null])))
  const live = Object.keys(records)
    .filter(m => !(m in merged))
    .sort(byCodePoint)
  const pairs: DuplicatePair[] = []
  for (let i = 0; i < live.length; i++) {
    for (let j = i + 1; j < live.length; j++) {
      const a = live[i]!
      const b = live[j]!
      const ra = records[a]!
      const rb = records[b]!
      if (sameCard(ra, rb)) pairs.push({ kind: "duplicate_card_number", first: a, second: b })
      else if (likelySamePerson(ra, rb) && !markedDistinct(records, a, b)) {
        pairs.push({ kind: "likely_duplicate", first: a, second: b })
      }
    }
  }
  return pairs
}
