/** Who saw what: causal links between the entries of append-only lists, without clocks
 * (conflict_rules/causal_log.py). Each entry records ``id`` and ``after`` (the ids of the
 * entries its author had seen last); entries without an id get a key from their content. */

import { byCodePoint } from "../rules/access.js"
import { get, isMap, type Plain, type PlainMap } from "../rules/plain.js"
import { pyJson } from "./pyjson.js"
import { sha256Hex } from "./sha256.js"

export const ID = "id"
export const AFTER = "after"

export interface Entry {
  key: string
  listName: string
  position: number
  record: PlainMap
}

export function entryGet(entry: Entry, name: string): Plain | undefined {
  return get(entry.record, name)
}

function legacyBase(listName: string, record: PlainMap): string {
  return "~" + sha256Hex(`${listName}\n${pyJson(record)}`).slice(0, 16)
}

export class CausalLog {
  readonly entries: Entry[] = []
  readonly ancestors = new Map<string, Set<string>>()
  private readonly parents = new Map<string, string[]>()

  constructor(lists: Record<string, readonly Plain[] | null | undefined>) {
    const used = new Map<string, number>()
    const raw = new Map<string, string[]>()
    for (const listName of Object.keys(lists).sort(byCodePoint)) {
      const earlier: string[] = []
      ;(lists[listName] ?? []).forEach((record, position) => {
        if (!isMap(record)) return
        const rawId = get(record, ID)
        const explicit = typeof rawId === "string" && rawId !== ""
        const base = explicit ? rawId : legacyBase(listName, record)
        const n = used.get(base) ?? 0
        used.set(base, n + 1)
        const key = n === 0 ? base : `${base}~${n}`
        this.entries.push({ key, listName, position, record })
        if (explicit) {
          const after = get(record, AFTER)
          raw.set(key, typeof after === "string" ? after.split(",").filter(p => p !== "") : [])
        } else {
          raw.set(key, [...earlier])
        }
        earlier.push(key)
      })
    }
    const known = new Set(this.entries.map(e => e.key))
    for (const [k, ps] of raw) this.parents.set(k, ps.filter(p => known.has(p) && p !== k))
    for (const k of this.parents.keys()) this.ancestors.set(k, this.closure(k))
  }

  private closure(key: string): Set<string> {
    const seen = new Set<string>()
    const stack = [...(this.parents.get(key) ?? [])]
    while (stack.length > 0) {
      const k = stack.pop()!
      if (!seen.has(k)) {
        seen.add(k)
        stack.push(...(this.parents.get(k) ?? []))
      }
    }
    seen.delete(key)
    return seen
  }

  of(listName: string): Entry[] {
    return this.entries.filter(e => e.listName === listName)
  }

  saw(later: Entry, earlier: Entry): boolean {
    return this.ancestors.get(later.key)?.has(earlier.key) ?? false
  }

  concurrent(a: Entry, b: Entry): boolean {
    return a.key !== b.key && !this.saw(a, b) && !this.saw(b, a)
  }

  frontier(): string[] {
    const seen = new Set<string>()
    for (const s of this.ancestors.values()) for (const k of s) seen.add(k)
    return [...this.ancestors.keys()].filter(k => !seen.has(k)).sort(byCodePoint)
  }
}

/** ``id`` and ``after`` for a new entry appended to one of ``lists``; ``newId`` makes the id. */
export function stamp(
  lists: Record<string, readonly Plain[] | null | undefined>,
  newId: () => string = randomId,
): { id: string; after: string | null } {
  const frontier = new CausalLog(lists).frontier()
  return { id: newId(), after: frontier.length > 0 ? frontier.join(",") : null }
}

export function randomId(): string {
  const bytes = new Uint8Array(6)
  crypto.getRandomValues(bytes)
  return Array.from(bytes, b => b.toString(16).padStart(2, "0")).join("")
}

export interface Decision {
  winner: Entry | null
  contested: Entry[]
}

export type Rank = number[]

function compareRank(a: Rank, b: Rank): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!
  }
  return a.length - b.length
}

/** Fold ``entries`` (in merged list order) into one standing entry (see the Python docstring). */
export function decide(
  log: CausalLog,
  entries: Entry[],
  value: (e: Entry) => string | null,
  mayFollow: (standing: Entry, e: Entry) => boolean,
  rank: (e: Entry) => Rank,
): Decision {
  const valued = entries.filter(e => value(e) !== null)
  let winner: Entry | null = null
  const ignored = new Set<string>()
  for (const e of valued) {
    if (winner === null) winner = e
    else if (log.saw(e, winner)) {
      if (mayFollow(winner, e)) winner = e
      else ignored.add(e.key)
    } else if (log.saw(winner, e)) continue
    else if (compareRank(rank(e), rank(winner)) > 0) winner = e
  }
  if (winner === null) return { winner: null, contested: [] }
  const w = winner
  const contested = valued.filter(
    e =>
      e.key !== w.key &&
      value(e) !== value(w) &&
      !log.saw(w, e) &&
      (ignored.has(e.key) || !log.saw(e, w)),
  )
  return { winner: w, contested }
}
