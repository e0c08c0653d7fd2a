/** Who may write what in a cell's documents (schema/access.py): judged by the write's effect,
 * the paths whose values differ between before and after, against the author's roles. */

import { at, deepEqual, get, isList, isMap, type Path, type Plain, type PlainMap } from "./plain.js"
import { ASSIGNEE_STATUSES, CELL_WRITERS, CLOSED, CONTACT_FIELDS, CONTAINERS } from "./schema.js"

export interface Actor {
  memberId: string | null
  roles: ReadonlySet<string>
}

/** The one refusal type of the server and both SDKs. */
export interface Verdict {
  allowed: boolean
  rule: string
  reasonVi: string
  reasonEn: string
  path: Path
}

export const ALLOW: Verdict = Object.freeze({ allowed: true, rule: "", reasonVi: "", reasonEn: "", path: [] })

export function refuse(rule: string, vi: string, en: string, path: Path = []): Verdict {
  return { allowed: false, rule, reasonVi: vi, reasonEn: en, path }
}

function sortedKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  return [...keys].sort(byCodePoint)
}

/** Python's string order (code points), not UTF-16 units. */
export function byCodePoint(a: string, b: string): number {
  const ca = Array.from(a)
  const cb = Array.from(b)
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const d = (ca[i] as string).codePointAt(0)! - (cb[i] as string).codePointAt(0)!
    if (d !== 0) return d
  }
  return ca.length - cb.length
}

/** Paths (keys and list indexes) whose values differ; lists report changed indexes. */
export function* changedPaths(before: unknown, after: unknown, path: Path = []): Generator<Path> {
  if (isMap(before) && isMap(after)) {
    for (const key of sortedKeys(before, after)) {
      const inBefore = Object.prototype.hasOwnProperty.call(before, key)
      const inAfter = Object.prototype.hasOwnProperty.call(after, key)
      if (!inBefore || !inAfter) yield [...path, key]
      else yield* changedPaths(before[key], after[key], [...path, key])
    }
  } else if (isList(before) && isList(after)) {
    for (let i = 0; i < Math.max(before.length, after.length); i++) {
      if (i >= before.length || i >= after.length) yield [...path, i]
      else yield* changedPaths(before[i], after[i], [...path, i])
    }
  } else if (!deepEqual(before, after)) {
    yield path
  }
}

/** The items ``after`` adds to ``before`` if it only adds (every item of ``before`` still
 * there, unchanged and in order), else null: histories and notes are never rewritten. */
export function inserted(before: unknown, after: unknown): Plain[] | null {
  if (!isList(after)) return null
  if (before === null || before === undefined) return [...after]
  if (!isList(before)) return null
  const added: Plain[] = []
  let i = 0
  for (const item of after) {
    if (i < before.length && deepEqual(item, before[i])) i++
    else added.push(item)
  }
  return i === before.length ? added : null
}

const APPEND_ONLY_LISTS: Record<string, [string, string[]]> = {
  roster: ["members", ["status_history"]],
  tasks: ["tasks", ["progress", "status_log"]],
}

/** May ``actor`` turn ``before`` into ``after`` (plain values of one cell document)? */
export function checkWrite(kind: string, actor: Actor, before: Plain, after: Plain): Verdict {
  const paths = [...changedPaths(before, after)]
  if (paths.length === 0) return ALLOW
  if (actor.roles.size === 0) {
    return refuse("no_role_on_cell", "Bạn không có vai trò nào trong chi bộ này.", "You hold no role on this cell.")
  }
  const containers = CONTAINERS[kind] ?? []
  for (const path of paths) {
    if (path.length < 2 || !containers.includes(path[0] as string)) {
      return refuse(
        "structure_server_only",
        "Chỉ máy chủ được thay đổi cấu trúc tài liệu.",
        "Only the server changes the document's structure.",
        path,
      )
    }
  }
  let verdict = appendOnlyCheck(kind, before, after, paths)
  if (!verdict.allowed) return verdict
  verdict = studiesByAuthor(kind, actor, before, after, paths)
  if (!verdict.allowed) return verdict
  if ([...actor.roles].some(r => CELL_WRITERS.has(r))) return ALLOW
  if (!actor.roles.has("member")) {
    return refuse(
      "officials_read_only",
      "Cán bộ cấp trên chỉ xem, không sửa dữ liệu của chi bộ.",
      "Officials above the cell read its documents and do not write them.",
      paths[0],
    )
  }
  for (const path of paths) {
    const v = memberMay(kind, actor, before, after, path)
    if (!v.allowed) return v
  }
  return ALLOW
}

function appendOnlyCheck(kind: string, before: Plain, after: Plain, paths: Path[]): Verdict {
  const pattern = APPEND_ONLY_LISTS[kind]
  if (pattern === undefined) return ALLOW
  for (const path of paths) {
    if (path.length >= 3 && path[0] === pattern[0] && pattern[1].includes(path[2] as string)) {
      const recordBefore = at(before, path.slice(0, 2))
      if (recordBefore === undefined || recordBefore === null) continue // a new record brings its list
      const list = path.slice(0, 3)
      if (inserted(at(before, list) ?? null, at(after, list) ?? null) === null) {
        return refuse(
          "append_only",
          "Lịch sử và ghi chú tiến độ chỉ được thêm, không được sửa hay xóa.",
          "History and progress notes may only be appended to, never changed.",
          path,
        )
      }
    }
  }
  return ALLOW
}

/** The study record ``path`` creates (schema v3 ``studies``), or null if it creates none. */
function newStudy(before: Plain, after: Plain, path: Path): PlainMap | null {
  const existing = at(before, path.slice(0, 2))
  if (path[0] !== "studies" || (existing !== undefined && existing !== null)) return null
  const record = at(after, path.slice(0, 2))
  return isMap(record) ? record : null
}

/** A new study record names its author as ``by``: who recorded a study shows in the report. */
function studiesByAuthor(kind: string, actor: Actor, before: Plain, after: Plain, paths: Path[]): Verdict {
  if (kind !== "meetings") return ALLOW
  for (const path of paths) {
    const record = newStudy(before, after, path)
    if (record !== null && !deepEqual(get(record, "by") ?? null, actor.memberId)) {
      return refuse(
        "study_by_author",
        "Người ghi nhận việc học tập phải là chính người gửi.",
        "A study record's 'by' must be its author.",
        path,
      )
    }
  }
  return ALLOW
}

function memberMay(kind: string, actor: Actor, before: Plain, after: Plain, path: Path): Verdict {
  const me = actor.memberId
  if (kind === "meetings" && path[0] === "studies") {
    // Studying a resolution is the member's own act: a new record about themself.
    const record = newStudy(before, after, path)
    if (record !== null && me !== null && deepEqual(get(record, "member_id") ?? null, me)) return ALLOW
    return refuse(
      "study_own_only",
      "Đảng viên chỉ được tự ghi nhận việc học tập nghị quyết của mình.",
      "A member may record only their own study of a resolution.",
      path,
    )
  }
  if (kind === "roster") {
    if (
      path[0] === "members" &&
      path[1] === me &&
      path.length >= 3 &&
      (CONTACT_FIELDS as readonly unknown[]).includes(path[2])
    ) {
      return ALLOW
    }
    if (path[0] === "members" && path[1] === me) {
      return refuse(
        "own_contact_only",
        "Đảng viên chỉ được sửa thông tin liên lạc của mình.",
        "A member may change only their own contact fields.",
        path,
      )
    }
    return refuse(
      "roster_secretary_only",
      "Chỉ bí thư hoặc phó bí thư chi bộ được sửa danh sách đảng viên.",
      "Only the cell secretary or deputy may change the roster.",
      path,
    )
  }
  if (kind === "tasks" && path[0] === "tasks") {
    const taskBefore = at(before, path.slice(0, 2))
    const taskAfter = at(after, path.slice(0, 2))
    const own =
      isMap(taskBefore) &&
      isMap(taskAfter) &&
      deepEqual(get(taskBefore, "assignee") ?? null, me) &&
      deepEqual(get(taskAfter, "assignee") ?? null, me)
    if (own && path.length >= 3 && path[2] === "progress") return ALLOW
    if (own && path.length >= 3 && path[2] === "status_log") {
      const added = inserted(get(taskBefore, "status_log") ?? null, get(taskAfter, "status_log") ?? null) ?? []
      if (
        added.every(
          e =>
            isMap(e) &&
            ASSIGNEE_STATUSES.has(get(e, "status") as string) &&
            !truthyValue(get(e, "correction")),
        )
      ) {
        return ALLOW
      }
    }
    if (
      own &&
      path.length === 3 &&
      path[2] === "status" &&
      !CLOSED.has(get(taskBefore, "status") as string) &&
      ASSIGNEE_STATUSES.has(get(taskAfter, "status") as string)
    ) {
      return ALLOW
    }
    return refuse(
      "task_assignee_only",
      "Chỉ người được giao việc cập nhật trạng thái và tiến độ của việc đó.",
      "Only a task's assignee may update its status and progress.",
      path,
    )
  }
  return refuse(
    "cell_secretary_only",
    "Chỉ bí thư hoặc phó bí thư chi bộ được sửa nội dung này.",
    "Only the cell secretary or deputy may change this.",
    path,
  )
}

function truthyValue(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return false
  if (Array.isArray(v)) return v.length > 0
  if (isMap(v)) return Object.keys(v).length > 0
  return true
}

/** May ``actor`` send the bytes of a cell's meeting attachments? */
export function checkAttach(actor: Actor): Verdict {
  if ([...actor.roles].some(r => CELL_WRITERS.has(r))) return ALLOW
  return refuse(
    "attach_secretary_only",
    "Chỉ bí thư hoặc phó bí thư chi bộ được gửi tệp đính kèm của buổi sinh hoạt.",
    "Only the cell secretary or deputy may upload meeting attachments.",
  )
}
