/** The conflicts of one cell as a secretary sees them (conflict_rules/conflicts.py): what the
 * rule decided, what lost, and which ordinary edit resolves it; a pure function of the merged
 * documents, so every replica and the server list the same conflicts with the same ids. */

import { words } from "../labels.js"
import { byCodePoint } from "../rules/access.js"
import { get, isList, isMap, truthy, type Plain, type PlainMap } from "../rules/plain.js"
import { entryGet } from "./causalLog.js"
import { duplicatePairs } from "./duplicates.js"
import { decideStatus, effectiveStatus, TERMINAL_STATUSES } from "./lifecycle.js"
import { survivors } from "./merges.js"
import { decideTask, effectiveTaskStatus } from "./taskStatus.js"

export interface Conflict {
  conflict_id: string
  kind: string
  document: string
  subjects: string[]
  outcome: string | null
  contested: string[]
  resolutions: string[]
  message_vi: string
  message_en: string
}

const MEMBER_VI = words("member_status", "vi")
const MEMBER_EN = words("member_status", "en")
const TASK_VI = words("task_status", "vi")
const TASK_EN = words("task_status", "en")

function recordsOf(doc: Plain | null | undefined, name: string): Record<string, PlainMap> {
  const items = get(doc, name)
  const out: Record<string, PlainMap> = {}
  if (!isMap(items)) return out
  for (const [k, v] of Object.entries(items)) if (isMap(v)) out[k] = v
  return out
}

function nameOf(records: Record<string, PlainMap>, memberId: string): string {
  const name = get(records[memberId], "full_name")
  return typeof name === "string" && name ? `${name} (${memberId})` : memberId
}

const labelsOf = (statuses: string[], table: Record<string, string>) => statuses.map(s => table[s] ?? s).join(", ")

function distinct(values: (Plain | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => typeof v === "string"))].sort(byCodePoint)
}

const sortedIds = (records: Record<string, unknown>) => Object.keys(records).sort(byCodePoint)

export function memberStatusConflicts(roster: Plain | null | undefined): Conflict[] {
  const records = recordsOf(roster, "members")
  const merged = survivors(Object.fromEntries(Object.entries(records).map(([m, r]) => [m, get(r, "merged_into") ?? null])))
  const found: Conflict[] = []
  for (const memberId of sortedIds(records)) {
    if (memberId in merged) continue
    const history = get(records[memberId], "status_history")
    const decision = decideStatus(isList(history) ? history : [])
    if (decision.contested.length === 0 || decision.status === null) continue
    const lost = distinct(decision.contested.map(e => entryGet(e, "status")))
    const won = decision.status
    const who = nameOf(records, memberId)
    const terminal = TERMINAL_STATUSES.has(won)
    const whyVi = terminal
      ? "trạng thái chấm dứt (từ trần, khai trừ, xóa tên) được ưu tiên"
      : "theo quy tắc chọn thống nhất trên mọi thiết bị"
    const whyEn = terminal
      ? "a terminal status (deceased, expelled, struck off) takes precedence"
      : "by the tie-break every device applies"
    found.push({
      conflict_id: `member_status:${memberId}`,
      kind: "member_status",
      document: "roster",
      subjects: [memberId],
      outcome: won,
      contested: lost,
      resolutions: ["confirm", "correct"],
      message_vi:
        `Trạng thái của đảng viên ${who} bị thay đổi đồng thời trên nhiều thiết bị: ` +
        `giữ '${MEMBER_VI[won] ?? won}' (${whyVi}); thay đổi ` +
        `'${labelsOf(lost, MEMBER_VI)}' vẫn lưu trong lịch sử. Bí thư xác nhận ` +
        "hoặc đính chính trạng thái.",
      message_en:
        `The status of ${who} was changed concurrently on several devices: ` +
        `'${MEMBER_EN[won] ?? won}' stands (${whyEn}); the change to ` +
        `'${labelsOf(lost, MEMBER_EN)}' is kept in the history. The secretary ` +
        "confirms or corrects the status.",
    })
  }
  return found
}

export function duplicateConflicts(roster: Plain | null | undefined): Conflict[] {
  const records = recordsOf(roster, "members")
  return duplicatePairs(records).map(pair => {
    const a = nameOf(records, pair.first)
    const b = nameOf(records, pair.second)
    if (pair.kind === "duplicate_card_number") {
      const card = String(get(records[pair.first], "card_number"))
      return {
        conflict_id: `${pair.kind}:${pair.first}:${pair.second}`,
        kind: pair.kind,
        document: "roster",
        subjects: [pair.first, pair.second],
        outcome: null,
        contested: [],
        resolutions: ["merge", "edit_card_number"],
        message_vi: `Hai hồ sơ ${a} và ${b} cùng số thẻ đảng ${card}. Bí thư gộp hai hồ sơ, hoặc sửa lại số thẻ của một hồ sơ.`,
        message_en: `The records ${a} and ${b} share party card number ${card}. The secretary merges them, or corrects one record's card number.`,
      }
    }
    return {
      conflict_id: `${pair.kind}:${pair.first}:${pair.second}`,
      kind: pair.kind,
      document: "roster",
      subjects: [pair.first, pair.second],
      outcome: null,
      contested: [],
      resolutions: ["merge", "keep_both"],
      message_vi: `Hai hồ sơ ${a} và ${b} có thể là cùng một người (trùng họ tên và ngày sinh, hoặc thiếu ngày sinh). Bí thư gộp hai hồ sơ hoặc giữ cả hai.`,
      message_en: `The records ${a} and ${b} may be the same person (same name and birth date, or a birth date missing). The secretary merges them or keeps both.`,
    }
  })
}

export function taskStatusConflicts(tasks: Plain | null | undefined): Conflict[] {
  const records = recordsOf(tasks, "tasks")
  const found: Conflict[] = []
  for (const taskId of sortedIds(records)) {
    const decision = decideTask(records[taskId]!)
    if ((decision.contested.length === 0 && decision.unseenNotes.length === 0) || decision.status === null) continue
    const won = decision.status
    const lost = distinct(decision.contested.map(e => entryGet(e, "status")))
    const rawTitle = get(records[taskId], "title")
    const title = truthy(rawTitle) ? String(rawTitle) : taskId
    const partsVi = [`Công việc '${title}': giữ trạng thái '${TASK_VI[won] ?? won}'`]
    const partsEn = [`Task '${title}': status '${TASK_EN[won] ?? won}' stands`]
    if (lost.length > 0) {
      partsVi.push(`thay đổi đồng thời '${labelsOf(lost, TASK_VI)}' vẫn lưu trong nhật ký`)
      partsEn.push(`the concurrent change to '${labelsOf(lost, TASK_EN)}' is kept in the log`)
    }
    if (decision.unseenNotes.length > 0) {
      const n = decision.unseenNotes.length
      partsVi.push(`${n} ghi chú tiến độ được viết khi chưa biết việc đã hủy (vẫn giữ)`)
      partsEn.push(`${n} progress note(s) were written not knowing it was cancelled (kept)`)
    }
    found.push({
      conflict_id: `task_status:${taskId}`,
      kind: "task_status",
      document: "tasks",
      subjects: [taskId],
      outcome: won,
      contested: lost,
      resolutions: ["confirm", "correct"],
      message_vi: partsVi.join("; ") + ". Bí thư xác nhận hoặc đính chính trạng thái.",
      message_en: partsEn.join("; ") + ". The secretary confirms or corrects the status.",
    })
  }
  return found
}

export function cellConflicts(roster: Plain | null | undefined, tasks: Plain | null | undefined): Conflict[] {
  const found = [...memberStatusConflicts(roster), ...duplicateConflicts(roster), ...taskStatusConflicts(tasks)]
  return found.sort((a, b) => byCodePoint(a.conflict_id, b.conflict_id))
}

/** Every rule's outcome in one comparable value (Python ``cell_outcome``). */
export function cellOutcome(roster: Plain | null | undefined, tasks: Plain | null | undefined): Record<string, unknown> {
  const members = recordsOf(roster, "members")
  const taskRecords = recordsOf(tasks, "tasks")
  return {
    member_status: Object.fromEntries(sortedIds(members).map(m => [m, effectiveStatus(members[m]!)])),
    merged: survivors(Object.fromEntries(Object.entries(members).map(([m, r]) => [m, get(r, "merged_into") ?? null]))),
    task_status: Object.fromEntries(sortedIds(taskRecords).map(t => [t, effectiveTaskStatus(taskRecords[t]!)])),
    conflicts: cellConflicts(roster, tasks),
  }
}
