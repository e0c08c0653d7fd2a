/** A task's effective status from its status log (conflict_rules/task_status.py): closed wins
 * over concurrent progress, done over a concurrent cancel; notes written not knowing of a
 * cancel are listed. */

import { get, isList, truthy, type Plain, type PlainMap } from "../rules/plain.js"
import { CausalLog, decide, entryGet, type Entry } from "./causalLog.js"

export const CLOSED = new Set(["done", "cancelled"])
const CLOSED_PRECEDENCE: Record<string, number> = { cancelled: 1, done: 2 }
const OPEN_PRECEDENCE: Record<string, number> = { open: 0, in_progress: 1 }
export const STATUS_LOG = "status_log"
export const PROGRESS = "progress"

export interface TaskDecision {
  status: string | null
  winner: Entry | null
  contested: Entry[]
  unseenNotes: Entry[]
  log: CausalLog
}

function status(e: Entry): string | null {
  const s = entryGet(e, "status")
  return typeof s === "string" && s !== "" ? s : null
}

export function taskLists(record: PlainMap): Record<string, Plain[]> {
  const lists: Record<string, Plain[]> = {}
  for (const name of [STATUS_LOG, PROGRESS]) {
    const value = get(record, name)
    lists[name] = isList(value) ? value : []
  }
  return lists
}

export function decideTask(record: PlainMap): TaskDecision {
  const log = new CausalLog(taskLists(record))
  if (!isList(get(record, STATUS_LOG))) return { status: null, winner: null, contested: [], unseenNotes: [], log }
  const d = decide(
    log,
    log.of(STATUS_LOG),
    status,
    (standing, e) => !CLOSED.has(status(standing) ?? "") || truthy(entryGet(e, "correction")),
    e => {
      const s = status(e) ?? ""
      return [
        CLOSED_PRECEDENCE[s] ?? 0,
        truthy(entryGet(e, "correction")) ? 1 : 0,
        OPEN_PRECEDENCE[s] ?? 0,
        e.position,
      ]
    },
  )
  const won = d.winner ? status(d.winner) : null
  const contested = d.contested.filter(
    e => !(won === "done" && (status(e) ?? "") in OPEN_PRECEDENCE && !truthy(entryGet(e, "correction"))),
  )
  let unseen: Entry[] = []
  if (d.winner !== null && won === "cancelled") {
    const w = d.winner
    unseen = log.of(PROGRESS).filter(n => log.concurrent(n, w))
  }
  return { status: won, winner: d.winner, contested, unseenNotes: unseen, log }
}

export function effectiveTaskStatus(record: PlainMap): string {
  const decided = decideTask(record).status
  const register = get(record, "status")
  return decided || (typeof register === "string" ? register : "")
}
