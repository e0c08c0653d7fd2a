/** A member's effective status from their status history (conflict_rules/lifecycle.py):
 * terminal states win over concurrent changes (deceased > expelled > struck off); after one,
 * only a correction that saw it changes the status; otherwise a correction beats a plain
 * change, and then the later entry in the merged order. */

import { get, isList, truthy, type Plain, type PlainMap } from "../rules/plain.js"
import { CausalLog, decide, entryGet, type Entry } from "./causalLog.js"

export const TERMINAL_STATUSES = new Set(["deceased", "struck_off", "expelled"])
const TERMINAL_PRECEDENCE: Record<string, number> = { struck_off: 1, expelled: 2, deceased: 3 }
export const HISTORY = "status_history"

export interface StatusDecision {
  status: string | null
  winner: Entry | null
  contested: Entry[]
  log: CausalLog
}

function status(e: Entry): string | null {
  const s = entryGet(e, "status")
  return typeof s === "string" && s !== "" ? s : null
}

export function decideStatus(history: readonly Plain[]): StatusDecision {
  const log = new CausalLog({ [HISTORY]: history })
  const d = decide(
    log,
    log.of(HISTORY),
    status,
    (standing, e) => !TERMINAL_STATUSES.has(status(standing) ?? "") || truthy(entryGet(e, "correction")),
    e => [TERMINAL_PRECEDENCE[status(e) ?? ""] ?? 0, truthy(entryGet(e, "correction")) ? 1 : 0, e.position],
  )
  return { status: d.winner ? status(d.winner) : null, winner: d.winner, contested: d.contested, log }
}

export function effectiveStatus(record: PlainMap): string {
  const history = get(record, HISTORY)
  const decided = isList(history) ? decideStatus(history).status : null
  const register = get(record, "status")
  return decided || (typeof register === "string" ? register : "")
}
