/** What a change may leave in a cell document, judged on the values (schema/validation.py):
 * the schema's field checks, lifecycle and task-status moves, and no deleted records. Only what
 * changed is checked, and only what this schema knows. */

import { ALLOW, inserted, type Verdict } from "./access.js"
import { SotayError, invalid } from "./errors.js"
import * as f from "./fields.js"
import { deepEqual, get, has, isList, isMap, truthy, type Path, type Plain, type PlainMap } from "./plain.js"
import { isClientId, resolutionIds } from "./resolutions.js"
import { checkRecord, cleanFields } from "./roster.js"
import {
  ATTACHMENT_TYPES,
  ATTENDANCE,
  CLOSED,
  CURRENT_STATUSES,
  EDITABLE_FIELDS,
  MAX_AGENDA,
  MAX_ATTACHMENT_BYTES,
  MAX_MINUTES,
  MAX_REASON,
  MAX_TEXT,
  MAX_TITLE,
  MEETING_KINDS,
  MEMBER_STATUSES,
  POSITIONS,
  STUDIES,
  TASK_STATUSES,
  TERMINAL_STATUSES,
  TRANSFER_DIRECTIONS,
} from "./schema.js"

class Refused extends Error {
  constructor(
    readonly error: SotayError,
    readonly path: Path,
  ) {
    super(error.code)
  }
}

function checkAt<T>(path: Path, check: () => T): T {
  try {
    return check()
  } catch (exc) {
    if (exc instanceof SotayError) throw new Refused(exc, path)
    throw exc
  }
}

function fail(path: Path, code: string, vi: string, en: string): never {
  throw new Refused(invalid(code, vi, en), path)
}

/** May ``after`` follow ``before`` (plain values of one cell document)? */
export function checkValues(kind: string, before: Plain, after: Plain): Verdict {
  const b = isMap(before) ? before : {}
  const a = isMap(after) ? after : {}
  try {
    if (kind === "roster") roster(b, a)
    else if (kind === "meetings") meetings(b, a)
    else if (kind === "tasks") tasks(b, a)
  } catch (exc) {
    if (exc instanceof Refused) {
      const e = exc.error
      return { allowed: false, rule: e.code, reasonVi: e.messageVi, reasonEn: e.messageEn, path: exc.path }
    }
    throw exc
  }
  return ALLOW
}

// ---- shared --------------------------------------------------------------------------------

const RECORD_NAMES: Record<string, [string, string]> = {
  members: ["hồ sơ đảng viên", "a member's record"],
  meetings: ["buổi sinh hoạt", "a meeting"],
  tasks: ["công việc", "a task"],
  transfers: ["giấy chuyển sinh hoạt", "a transfer paper"],
  resolutions: ["nghị quyết", "a resolution"],
  attachments: ["tệp đính kèm", "an attachment"],
  studies: ["bản ghi học tập nghị quyết", "a study record"],
}

function deleted(path: Path, name: string): never {
  const [vi, en] = RECORD_NAMES[name] as [string, string]
  fail(
    path,
    "record_deleted",
    `Không được xoá ${vi}: hồ sơ của chi bộ được giữ lại; đảng viên rời chi bộ qua thay đổi ` +
      "trạng thái, không bằng xoá.",
    `${en[0]!.toUpperCase()}${en.slice(1)} may not be deleted: the cell's records are kept; a member ` +
      "leaves through the lifecycle, never by deletion.",
  )
}

type Rec = PlainMap
function* records(before: PlainMap, after: PlainMap, name: string): Generator<[string, Rec | null, Rec]> {
  const oldAll = isMap(get(before, name)) ? (get(before, name) as PlainMap) : {}
  const newAll = isMap(get(after, name)) ? (get(after, name) as PlainMap) : {}
  if (has(before, name) && !has(after, name)) deleted([name], name)
  for (const rid of Object.keys(oldAll)) {
    if (!has(newAll, rid)) deleted([name, rid], name)
  }
  for (const [rid, value] of Object.entries(newAll)) {
    const old = get(oldAll, rid)
    if (deepEqual(old, value)) continue
    if (!isMap(value)) {
      fail([name, rid], "malformed_record", "Bản ghi phải là một đối tượng có các trường.", "A record must be an object with fields.")
    }
    yield [rid, isMap(old) ? old : null, value]
  }
}

function changed(old: Rec | null, value: Rec, key: string): boolean {
  return has(value, key) && (old === null || !deepEqual(get(old, key) ?? null, get(value, key) ?? null))
}

function appended(old: unknown, value: unknown, path: Path, recordName?: string): Plain[] {
  const before = isList(old) ? old : []
  if ((value === null || value === undefined) && before.length === 0) return []
  const added = inserted(before, value ?? null)
  if (added === null) {
    if (recordName !== undefined) deleted(path, recordName)
    fail(path, "append_only", "Lịch sử và ghi chú chỉ được thêm, không được sửa hay xóa.", "History and notes may only be appended to, never changed.")
  }
  return added
}

function entry(path: Path, value: Plain): PlainMap {
  if (!isMap(value)) {
    fail(path, "malformed_record", "Mục lịch sử phải là một đối tượng.", "A history entry must be an object.")
  }
  return value
}

const UNKNOWN_MEMBER: [string, string, string] = [
  "unknown_member",
  "Không có đảng viên này trong danh sách chi bộ.",
  "No such member in the cell roster.",
]

// ---- roster --------------------------------------------------------------------------------

function roster(before: PlainMap, after: PlainMap): void {
  for (const [mid, old, value] of records(before, after, "members")) member(["members", mid], old, value)
  const members = get(after, "members")
  const isMember = (id: unknown) => typeof id === "string" && isMap(members) && has(members, id)
  for (const [tid, , value] of records(before, after, "transfers")) {
    const path = ["transfers", tid]
    checkAt(path, () => f.choice(get(value, "direction"), "direction", TRANSFER_DIRECTIONS, "bad_direction"))
    checkAt(path, () => f.text(get(value, "other_unit"), "other_unit", 200))
    checkAt(path, () => f.isoDate(get(value, "date"), "date", true))
    checkAt(path, () => f.text(get(value, "letter_number"), "letter_number", 40, false))
    if (!isMember(get(value, "member_id"))) fail(path, ...UNKNOWN_MEMBER)
  }
  const positions = get(after, "positions")
  if (isMap(positions) && !deepEqual(positions, get(before, "positions"))) {
    for (const [position, holder] of Object.entries(positions)) {
      const path = ["positions", position]
      checkAt(path, () => f.choice(position, "position", POSITIONS, "bad_position"))
      if (holder !== null && !isMember(holder)) fail(path, ...UNKNOWN_MEMBER)
    }
  }
}

function member(path: Path, old: Rec | null, value: Rec): void {
  const changes: Record<string, Plain> = {}
  for (const k of EDITABLE_FIELDS) if (changed(old, value, k)) changes[k] = value[k] as Plain
  const cleaned = checkAt(path, () => cleanFields(changes))
  for (const [key, stored] of Object.entries(cleaned)) {
    if (key !== "residence" && !deepEqual(stored, changes[key])) {
      fail(
        [...path, key],
        "not_normalised",
        "Giá trị chưa được chuẩn hoá theo quy định của sổ tay.",
        "The value is not in the handbook's normal form.",
      )
    }
  }
  if (old === null && !truthy(get(value, "full_name"))) {
    fail([...path, "full_name"], "required", "Thiếu họ và tên.", "Missing full name.")
  }
  const status = checkAt([...path, "status"], () =>
    f.choice(get(value, "status"), "status", MEMBER_STATUSES, "bad_status"),
  )
  const historyPath = [...path, "status_history"]
  const added = appended(get(old ?? {}, "status_history"), get(value, "status_history"), historyPath).map(e =>
    entry(historyPath, e),
  )
  for (const e of added) {
    checkAt(historyPath, () => f.choice(get(e, "status"), "status", MEMBER_STATUSES, "bad_status"))
    checkAt(historyPath, () => f.isoDate(get(e, "date"), "date"))
    checkAt(historyPath, () => f.text(get(e, "reason"), "reason", MAX_REASON, false))
  }
  const oldStatus = old === null ? null : (get(old, "status") ?? null)
  let previous: Plain = oldStatus
  for (const e of added) {
    const move = get(e, "status") ?? null
    if (previous === null && !CURRENT_STATUSES.has(move as string)) {
      fail([...path, "status"], "bad_initial_status", "Đảng viên mới phải là dự bị hoặc chính thức.", "A new member must be probationary or full.")
    }
    if (TERMINAL_STATUSES.has(previous as string) && !truthy(get(e, "correction"))) {
      fail(
        [...path, "status"],
        "terminal_status",
        "Đảng viên đã từ trần, bị xóa tên hoặc khai trừ: chỉ bí thư được đính chính.",
        "Member is deceased, struck off or expelled: only a correction can change that.",
      )
    }
    if (!deepEqual(move, previous) && !CURRENT_STATUSES.has(move as string) && !truthy(get(e, "reason"))) {
      fail([...path, "status"], "reason_required", "Cần ghi lý do cho thay đổi trạng thái này.", "This status change needs a reason.")
    }
    previous = move
  }
  if (!deepEqual(status, oldStatus) && (added.length === 0 || !deepEqual(get(added[added.length - 1], "status") ?? null, status))) {
    fail(
      [...path, "status"],
      "status_without_history",
      "Thay đổi trạng thái phải được ghi vào lịch sử.",
      "A status change must be recorded in the status history.",
    )
  }
  const dates = ["status", "birth_date", "joined_date", "official_date"]
  if (old === null || dates.some(k => changed(old, value, k))) checkAt(path, () => checkRecord(value, status))
}

// ---- meetings ------------------------------------------------------------------------------

function meetings(before: PlainMap, after: PlainMap): void {
  const taken = resolutionIdsOf(before)
  for (const [mid, old, value] of records(before, after, "meetings")) meeting(["meetings", mid], old, value, taken)
  studies(before, after)
}

/** Every resolution's id (its own or derived) -> the meeting that holds it. */
function resolutionIdsOf(values: PlainMap): Map<string, string> {
  const found = new Map<string, string>()
  const listed = get(values, "meetings")
  for (const [mid, m] of Object.entries(isMap(listed) ? listed : {})) {
    const entries = isMap(m) ? get(m, "resolutions") : undefined
    if (isList(entries)) for (const rid of resolutionIds(mid, entries)) if (rid !== null) found.set(rid, mid)
  }
  return found
}

/** Study records (v3): a new one names a resolution of the document, a member and a date,
 * once per member and resolution; an existing one changes only by being withdrawn. */
function studies(before: PlainMap, after: PlainMap): void {
  let resolutions: Map<string, string> | null = null
  const earlier = get(before, STUDIES)
  const live = new Set<string>()
  const key = (rid: unknown, member: unknown) => JSON.stringify([rid ?? null, member ?? null])
  for (const r of Object.values(isMap(earlier) ? earlier : {})) {
    if (isMap(r) && get(r, "withdrawn") !== true) live.add(key(get(r, "resolution_id"), get(r, "member_id")))
  }
  for (const [sid, old, value] of records(before, after, STUDIES)) {
    const path = [STUDIES, sid]
    if (old !== null) {
      if (get(old, "withdrawn") === true || !deepEqual(value, { ...old, withdrawn: true })) {
        fail(
          path,
          "append_only",
          "Bản ghi học tập không được sửa; bí thư chỉ có thể rút bản ghi ghi nhầm.",
          "A study record is never changed; the secretary may only withdraw one recorded by mistake.",
        )
      }
      continue
    }
    if (!isClientId(sid)) fail(path, "bad_id", "Mã bản ghi học tập không hợp lệ.", "Invalid study id.")
    checkAt(path, () => f.text(get(value, "member_id"), "member_id", 120))
    checkAt(path, () => f.text(get(value, "by"), "by", 120))
    checkAt(path, () => f.isoDate(get(value, "date"), "date", true))
    resolutions ??= resolutionIdsOf(after)
    const rid = get(value, "resolution_id")
    if (typeof rid !== "string" || !deepEqual(resolutions.get(rid) ?? null, get(value, "meeting_id") ?? null)) {
      fail(path, "unknown_resolution", "Buổi sinh hoạt này không có nghị quyết đó.", "That meeting has no such resolution.")
    }
    const pair = key(rid, get(value, "member_id"))
    if (live.has(pair)) {
      fail(
        path,
        "already_studied",
        "Đã ghi nhận đảng viên này học tập nghị quyết đó.",
        "That member's study of this resolution is already recorded.",
      )
    }
    if (get(value, "withdrawn") !== true) live.add(pair)
  }
}

function meeting(path: Path, old: Rec | null, value: Rec, taken: Map<string, string>): void {
  if (changed(old, value, "date") || old === null) {
    checkAt([...path, "date"], () => f.isoDate(get(value, "date"), "date", true))
  }
  if (changed(old, value, "kind") || old === null) {
    checkAt([...path, "kind"], () => f.choice(get(value, "kind"), "kind", MEETING_KINDS, "bad_meeting_kind"))
  }
  if (changed(old, value, "agenda")) {
    checkAt([...path, "agenda"], () => f.longText(get(value, "agenda"), "agenda", MAX_AGENDA))
  }
  if (changed(old, value, "minutes")) {
    checkAt([...path, "minutes"], () => f.longText(get(value, "minutes"), "minutes", MAX_MINUTES))
  }
  const attendance = get(value, "attendance")
  if (changed(old, value, "attendance") && isMap(attendance)) {
    const earlier = get(old ?? {}, "attendance")
    const beforeMap = isMap(earlier) ? earlier : {}
    for (const [memberId, mark] of Object.entries(attendance)) {
      if (!deepEqual(get(beforeMap, memberId) ?? null, mark)) {
        checkAt([...path, "attendance", memberId], () => f.choice(mark, "attendance", ATTENDANCE, "bad_attendance"))
      }
    }
  }
  const resolutionsPath = [...path, "resolutions"]
  for (const e of appended(get(old ?? {}, "resolutions"), get(value, "resolutions"), resolutionsPath, "resolutions")) {
    const record = entry(resolutionsPath, e)
    checkAt(resolutionsPath, () => f.text(get(record, "title"), "title", 300))
    checkAt(resolutionsPath, () => f.text(get(record, "number"), "number", 40, false))
    checkAt(resolutionsPath, () => f.isoDate(get(record, "studied_date"), "studied_date"))
    // v3 apps give each new resolution its id; an older app gives none (readers derive it)
    const rid = get(record, "id")
    if (rid !== undefined && rid !== null && !isClientId(rid)) {
      fail(resolutionsPath, "bad_id", "Mã nghị quyết không hợp lệ.", "Invalid id.")
    }
    if (typeof rid === "string" && taken.has(rid)) {
      fail(resolutionsPath, "resolution_exists", "Mã nghị quyết đã tồn tại.", "Resolution id already exists.")
    }
    if (typeof rid === "string") taken.set(rid, path[path.length - 1] as string)
  }
  for (const [key, , record] of records(old ?? {}, value, "attachments")) {
    const where = [...path, "attachments", key]
    checkAt(where, () => f.contentHash(key))
    checkAt(where, () => f.text(get(record, "name"), "name", 200))
    checkAt(where, () => f.choice(get(record, "mime_type"), "mime_type", ATTACHMENT_TYPES, "bad_mime"))
    checkAt(where, () => f.positiveInt(get(record, "size"), "size", MAX_ATTACHMENT_BYTES))
  }
}

// ---- tasks ---------------------------------------------------------------------------------

function tasks(before: PlainMap, after: PlainMap): void {
  for (const [tid, old, value] of records(before, after, "tasks")) task(["tasks", tid], old, value)
}

function task(path: Path, old: Rec | null, value: Rec): void {
  if (changed(old, value, "title") || old === null) {
    checkAt([...path, "title"], () => f.text(get(value, "title"), "title", MAX_TITLE))
  }
  if (changed(old, value, "description")) {
    checkAt([...path, "description"], () => f.longText(get(value, "description"), "description", MAX_TEXT))
  }
  if (changed(old, value, "due_date")) {
    checkAt([...path, "due_date"], () => f.isoDate(get(value, "due_date"), "due_date"))
  }
  if (changed(old, value, "assignee") || old === null) {
    checkAt([...path, "assignee"], () => f.text(get(value, "assignee"), "assignee", 120))
  }
  const status = checkAt([...path, "status"], () =>
    f.choice(get(value, "status"), "status", TASK_STATUSES, "bad_task_status"),
  )
  const progressPath = [...path, "progress"]
  for (const e of appended(get(old ?? {}, "progress"), get(value, "progress"), progressPath)) {
    const note = entry(progressPath, e)
    checkAt(progressPath, () => f.text(get(note, "text"), "text", MAX_TEXT))
  }
  const logPath = [...path, "status_log"]
  const logged = appended(get(old ?? {}, "status_log"), get(value, "status_log"), logPath).map(e => entry(logPath, e))
  for (const e of logged) {
    checkAt(logPath, () => f.choice(get(e, "status"), "status", TASK_STATUSES, "bad_task_status"))
  }
  const oldStatus = old === null ? null : (get(old, "status") ?? null)
  const hasLog = isList(get(value, "status_log"))
  let previous: Plain = oldStatus
  for (const e of logged) {
    const move = get(e, "status") ?? null
    if (previous === null && move !== "open") {
      fail([...path, "status"], "bad_initial_status", "Công việc mới phải ở trạng thái mở.", "A new task starts open.")
    }
    if (CLOSED.has(previous as string) && !truthy(get(e, "correction"))) {
      fail([...path, "status"], "task_closed", "Công việc đã hoàn thành hoặc đã hủy.", "The task is already done or cancelled.")
    }
    previous = move
  }
  if (old === null && !hasLog && status !== "open") {
    fail([...path, "status"], "bad_initial_status", "Công việc mới phải ở trạng thái mở.", "A new task starts open.")
  }
  if (
    !deepEqual(status, oldStatus) &&
    hasLog &&
    (logged.length === 0 || !deepEqual(get(logged[logged.length - 1], "status") ?? null, status))
  ) {
    fail(
      [...path, "status"],
      "status_without_history",
      "Thay đổi trạng thái phải được ghi vào nhật ký công việc.",
      "A status change must be recorded in the task's log.",
    )
  }
}
