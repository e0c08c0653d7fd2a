/** Resolving duplicate members (conflict_rules/resolution.py): merge, or keep both; scalar
 * keys on existing records only. */

import { DISTINCT_PREFIX } from "../conflicts/duplicates.js"
import { effectiveStatus } from "../conflicts/lifecycle.js"
import { child, container, reach, type Doc } from "../doc/containers.js"
import { plain, put } from "../doc/values.js"
import { invalid, SotayError } from "../rules/errors.js"
import { get, isMap, type Plain, type PlainMap } from "../rules/plain.js"
import { checkRecord } from "../rules/roster.js"
import { listedMembers, memberRecord } from "./roster.js"
import type { Mutation } from "./types.js"

const COPIED = ["card_number", "birth_date", "gender", "ethnicity", "joined_date", "official_date", "phone"]

const empty = (v: Plain | undefined) => v === null || v === undefined || (typeof v === "string" && v.trim() === "")

function checkPair(doc: Doc, keepId: string, otherId: string): void {
  if (keepId === otherId) {
    throw invalid("same_member", "Cần hai hồ sơ khác nhau.", "Two different records are needed.", keepId)
  }
  memberRecord(doc, keepId)
  memberRecord(doc, otherId)
  const listed = listedMembers(doc)
  for (const id of [keepId, otherId]) {
    if (!(id in listed)) {
      throw invalid("already_merged", "Hồ sơ này đã được gộp vào hồ sơ khác.", "This record was already merged into another one.", id)
    }
  }
}

export function mergeMembers(doc: Doc, keepId: string, otherId: string): Mutation {
  checkPair(doc, keepId, otherId)
  const kept = memberRecord(doc, keepId)
  const other = memberRecord(doc, otherId)
  const status = effectiveStatus(kept)
  const copied: PlainMap = {}
  for (const key of COPIED) {
    if (empty(get(kept, key)) && !empty(get(other, key))) {
      try {
        checkRecord({ ...kept, ...copied, [key]: other[key] as Plain }, status)
      } catch (exc) {
        if (exc instanceof SotayError) continue
        throw exc
      }
      copied[key] = other[key] as Plain
    }
  }
  const residence = child(child(container(doc, "members"), keepId), "residence")
  const otherResidence = get(other, "residence")
  const residenceCopy: PlainMap = {}
  if (residence !== null && isMap(otherResidence)) {
    const mine = plain(residence) as PlainMap
    for (const [k, v] of Object.entries(otherResidence)) if (!(k in mine) && !empty(v)) residenceCopy[k] = v
  }
  const hasResidence = residence !== null
  return d => {
    const keep = reach(d, ["members", keepId])
    for (const [k, v] of Object.entries(copied)) put(keep, k, v)
    if (hasResidence) {
      const res = keep.residence as Record<string, unknown>
      for (const [k, v] of Object.entries(residenceCopy)) put(res, k, v)
    }
    put(reach(d, ["members", otherId]), "merged_into", keepId)
  }
}

export function keepBoth(doc: Doc, firstId: string, secondId: string): Mutation {
  checkPair(doc, firstId, secondId)
  const first = memberRecord(doc, firstId)
  const second = memberRecord(doc, secondId)
  const card = get(first, "card_number")
  if (typeof card === "string" && card !== "" && card === get(second, "card_number")) {
    throw invalid(
      "card_number_shared",
      "Hai hồ sơ cùng số thẻ đảng: hãy sửa số thẻ của một hồ sơ, hoặc gộp hai hồ sơ.",
      "The records share a party card number: correct one of them, or merge them.",
      card,
    )
  }
  return d => {
    put(reach(d, ["members", firstId]), DISTINCT_PREFIX + secondId, true)
    put(reach(d, ["members", secondId]), DISTINCT_PREFIX + firstId, true)
  }
}

export function resolveDuplicate(doc: Doc, a: { keep_id: string; other_id: string; action: string }): Mutation {
  if (a.action === "merge") return mergeMembers(doc, a.keep_id, a.other_id)
  if (a.action === "keep_both") return keepBoth(doc, a.keep_id, a.other_id)
  throw invalid(
    "bad_resolution",
    "Cách giải quyết phải là 'merge' (gộp) hoặc 'keep_both' (giữ cả hai).",
    "The resolution must be 'merge' or 'keep_both'.",
    String(a.action).slice(0, 40),
  )
}
