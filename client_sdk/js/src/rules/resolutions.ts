/** Resolution ids and study records (schema/meetings.py, schema v3): a resolution's own ``id``,
 * or one derived from its meeting and content for a resolution an older app wrote; which study
 * record counts for each member and resolution. */

import { pyJson } from "../conflicts/pyjson.js"
import { sha256Hex } from "../conflicts/sha256.js"
import { byCodePoint } from "./access.js"
import { get, isMap, type Plain, type PlainMap } from "./plain.js"

// Python's ``re.match`` with ``$`` also takes a final newline.
const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\n?$/

/** A well-formed id for a record a client creates (resolution, study record). */
export function isClientId(value: unknown): value is string {
  return typeof value === "string" && CLIENT_ID.test(value)
}

function derivedId(meetingId: string, record: PlainMap): string {
  const body = pyJson(Object.fromEntries(Object.entries(record).filter(([k]) => k !== "id")))
  return "nq~" + sha256Hex(`${meetingId}\n${body}`).slice(0, 12)
}

/** The id of each entry of a meeting's ``resolutions`` list (null for a non-record): its own
 * first; else derived from its content, numbered ``~1``, ``~2`` when repeated. */
export function resolutionIds(meetingId: string, entries: readonly Plain[]): (string | null)[] {
  const out: (string | null)[] = entries.map(() => null)
  const used = new Set<string>()
  entries.forEach((entry, i) => {
    const own = isMap(entry) ? get(entry, "id") : undefined
    if (typeof own === "string" && own && !used.has(own)) {
      out[i] = own
      used.add(own)
    }
  })
  entries.forEach((entry, i) => {
    if (out[i] !== null || !isMap(entry)) return
    const own = get(entry, "id")
    const base = typeof own === "string" && own ? own : derivedId(meetingId, entry)
    let rid = base
    let n = 0
    while (used.has(rid)) {
      n += 1
      rid = `${base}~${n}`
    }
    out[i] = rid
    used.add(rid)
  })
  return out
}

/** The study records that count: resolution id -> member id -> the key of the record (the
 * earliest date, then the smallest key; withdrawn and malformed records left out). */
export function studiedMembers(raw: unknown): Record<string, Record<string, string>> {
  const best: Record<string, Record<string, [string, string]>> = {}
  if (!isMap(raw)) return {}
  for (const [studyId, record] of Object.entries(raw)) {
    if (!isMap(record) || get(record, "withdrawn") === true) continue
    const rid = get(record, "resolution_id")
    const member = get(record, "member_id")
    const date = get(record, "date")
    if (typeof rid !== "string" || typeof member !== "string") continue
    const rank: [string, string] = [typeof date === "string" ? date : "9999", studyId]
    const per = (best[rid] ??= {})
    const kept = per[member]
    if (kept === undefined || compareRank(rank, kept) < 0) per[member] = rank
  }
  return Object.fromEntries(
    Object.entries(best).map(([rid, per]) => [rid, Object.fromEntries(Object.entries(per).map(([m, r]) => [m, r[1]]))]),
  )
}

function compareRank(a: [string, string], b: [string, string]): number {
  return byCodePoint(a[0], b[0]) || byCodePoint(a[1], b[1])
}
