/** The roster's operations (schema/roster.py): members, their lifecycle, positions, transfers. */

import { stamp } from "../conflicts/causalLog.js"
import { effectiveStatus, HISTORY } from "../conflicts/lifecycle.js"
import { survivors } from "../conflicts/merges.js"
import { child, childList, container, reach, type Doc } from "../doc/containers.js"
import { appendMap, plain, put } from "../doc/values.js"
import { invalid, malformed } from "../rules/errors.js"
import * as f from "../rules/fields.js"
import { get, isMap, type PlainMap } from "../rules/plain.js"
import { checkRecord, cleanFields } from "../rules/roster.js"
import {
  CURRENT_STATUSES,
  CURRENT_VERSION,
  MAX_REASON,
  MEMBER_STATUSES,
  POSITIONS,
  TERMINAL_STATUSES,
  TRANSFER_DIRECTIONS,
} from "../rules/schema.js"
import type { Mutation, OpContext } from "./types.js"

export const unknownMember = (id: string) =>
  invalid("unknown_member", "Không có đảng viên này trong danh sách chi bộ.", "No such member in the cell roster.", id)

/** A member's record as plain values (unknown_member if absent). */
export function memberRecord(doc: Doc, memberId: string): PlainMap {
  const obj = child(container(doc, "members"), memberId)
  if (obj === null) throw unknownMember(memberId)
  return plain(obj) as PlainMap
}

/** Every record, merged ones included. */
export function allMembers(doc: Doc): Record<string, PlainMap> {
  const raw = plain(container(doc, "members"))
  const out: Record<string, PlainMap> = {}
  if (isMap(raw)) for (const [k, v] of Object.entries(raw)) if (isMap(v)) out[k] = v
  return out
}

/** The cell's people: records merged into another are left out. */
export function listedMembers(doc: Doc): Record<string, PlainMap> {
  const everyone = allMembers(doc)
  const merged = survivors(Object.fromEntries(Object.entries(everyone).map(([m, r]) => [m, get(r, "merged_into") ?? null])))
  return Object.fromEntries(Object.entries(everyone).filter(([m]) => !(m in merged)))
}

export function currentMemberIds(doc: Doc): Set<string> {
  return new Set(
    Object.entries(listedMembers(doc))
      .filter(([, r]) => CURRENT_STATUSES.has(effectiveStatus(r)))
      .map(([m]) => m),
  )
}

function checkCardUnique(doc: Doc, card: unknown, memberId: string): void {
  if (typeof card !== "string" || card === "") return
  const members = container(doc, "members")
  const listed = listedMembers(doc)
  for (const other of Object.keys(members)) {
    if (other === memberId) continue
    const record = child(members, other)
    const raw = record?.card_number
    // A scalar only, as Python's ``scalar`` reads it (Text written by another tool is not one).
    if (record === null || typeof raw === "string" || plain(raw) !== card) continue
    if (other in listed) {
      throw invalid(
        "duplicate_card_number",
        "Số thẻ đảng đã có trong danh sách chi bộ.",
        "Party card number already in the roster.",
        `${card} (${other})`,
      )
    }
  }
}

export interface AddMember {
  member_id: string
  data: Record<string, unknown>
  status?: string
  by: string
  date?: string | null
  reason?: string
  version?: number
}

export function addMember(doc: Doc, a: AddMember, ctx: OpContext): Mutation {
  const members = container(doc, "members")
  if (child(members, a.member_id) !== null) {
    throw invalid("member_exists", "Mã đảng viên đã tồn tại.", "Member id already exists.")
  }
  const status = f.choice(a.status ?? "probationary", "status", MEMBER_STATUSES, "bad_status")
  if (!CURRENT_STATUSES.has(status)) {
    throw invalid("bad_initial_status", "Đảng viên mới phải là dự bị hoặc chính thức.", "A new member must be probationary or full.")
  }
  const record = cleanFields(a.data, a.version ?? CURRENT_VERSION)
  if (!record.full_name) throw invalid("required", "Thiếu họ và tên.", "Missing full name.")
  checkRecord(record, status)
  checkCardUnique(doc, record.card_number, a.member_id)
  const eventDate = f.isoDate(a.date ?? null, "date") || (record.joined_date ?? null)
  const entry = { status, date: eventDate, reason: a.reason ?? "Kết nạp", by: a.by, ...stamp({}, ctx.newId) }
  return d => {
    const parent = reach(d, ["members"])
    parent[a.member_id] = {}
    const obj = parent[a.member_id] as Record<string, unknown>
    for (const [key, value] of Object.entries(record)) put(obj, key, value)
    put(obj, "status", status)
    obj.status_history = []
    appendMap(obj.status_history as unknown[], entry)
  }
}

export interface UpdateMember {
  member_id: string
  data: Record<string, unknown>
  version?: number
}

export function updateMember(doc: Doc, a: UpdateMember): Mutation {
  const current = memberRecord(doc, a.member_id)
  const changes = cleanFields(a.data, a.version ?? CURRENT_VERSION)
  checkRecord({ ...current, ...changes }, effectiveStatus(current))
  if ("card_number" in changes) checkCardUnique(doc, changes.card_number, a.member_id)
  return d => {
    const obj = reach(d, ["members", a.member_id])
    for (const [key, value] of Object.entries(changes)) put(obj, key, value)
  }
}

export interface ChangeStatus {
  member_id: string
  status: string
  reason: string
  by: string
  date?: string | null
  official_date?: string | null
  correction?: boolean
}

export function changeStatus(doc: Doc, a: ChangeStatus, ctx: OpContext): Mutation {
  const record = memberRecord(doc, a.member_id)
  const currentStatus = effectiveStatus(record)
  const status = f.choice(a.status, "status", MEMBER_STATUSES, "bad_status")
  const reason = f.text(a.reason, "reason", MAX_REASON, false)
  const eventDate = f.isoDate(a.date ?? null, "date")
  const correction = a.correction ?? false
  if (status === currentStatus && !correction) {
    throw invalid("status_unchanged", "Trạng thái không thay đổi.", "Status is already that value.")
  }
  if (TERMINAL_STATUSES.has(currentStatus) && !correction) {
    throw invalid(
      "terminal_status",
      "Đảng viên đã từ trần, bị xóa tên hoặc khai trừ: chỉ bí thư được đính chính.",
      "Member is deceased, struck off or expelled: only a correction can change that.",
    )
  }
  if (!CURRENT_STATUSES.has(status) && !reason) {
    throw invalid("reason_required", "Cần ghi lý do cho thay đổi trạng thái này.", "This status change needs a reason.")
  }
  const officialGiven = a.official_date !== null && a.official_date !== undefined
  const trial: PlainMap = { ...record }
  if (officialGiven) trial.official_date = f.isoDate(a.official_date, "official_date")
  if (status === "probationary" && correction) trial.official_date = null
  checkRecord(trial, status)
  const history = childList(child(container(doc, "members"), a.member_id), HISTORY)
  if (history === null) throw malformed("status_history")
  const seen = stamp({ [HISTORY]: plain(history) as PlainMap[] }, ctx.newId)
  const writeOfficial = officialGiven || (status === "probationary" && correction)
  const entry = { status, date: eventDate, reason, by: a.by, correction: correction ? true : null, ...seen }
  return d => {
    const obj = reach(d, ["members", a.member_id])
    put(obj, "status", status)
    if (writeOfficial) put(obj, "official_date", trial.official_date)
    appendMap(obj[HISTORY] as unknown[], entry)
  }
}

export function setPosition(doc: Doc, a: { position: string; member_id: string | null }): Mutation {
  const position = f.choice(a.position, "position", POSITIONS, "bad_position")
  container(doc, "positions")
  if (a.member_id !== null && a.member_id !== undefined) {
    if (!CURRENT_STATUSES.has(effectiveStatus(memberRecord(doc, a.member_id)))) {
      throw invalid("not_current_member", "Chỉ đảng viên đang sinh hoạt mới giữ chức vụ.", "Only a current member can hold a position.")
    }
  }
  return d => put(reach(d, ["positions"]), position, a.member_id ?? null)
}

export interface RecordTransfer {
  transfer_id: string
  member_id: string
  direction: string
  other_unit: string
  date: string
  letter_number?: string | null
  by: string
}

export function recordTransfer(doc: Doc, a: RecordTransfer): Mutation {
  const parent = container(doc, "transfers")
  memberRecord(doc, a.member_id)
  const record = {
    member_id: a.member_id,
    direction: f.choice(a.direction, "direction", TRANSFER_DIRECTIONS, "bad_direction"),
    other_unit: f.text(a.other_unit, "other_unit", 200),
    date: f.isoDate(a.date, "date", true),
    letter_number: f.text(a.letter_number ?? null, "letter_number", 40, false),
    by: a.by,
  }
  if (child(parent, a.transfer_id) !== null) {
    throw invalid("transfer_exists", "Mã giấy chuyển đã tồn tại.", "Transfer id exists.")
  }
  return d => put(reach(d, ["transfers"]), a.transfer_id, record)
}
