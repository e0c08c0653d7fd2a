/** Cell meetings (schema/meetings.py): schedule, attendance, minutes as Text, resolutions,
 * attachments keyed by content hash. */

import { child, childList, container, reach, type Doc } from "../doc/containers.js"
import { appendMap, plain, put } from "../doc/values.js"
import { get, isMap, type Plain } from "../rules/plain.js"
import { isClientId, resolutionIds, studiedMembers } from "../rules/resolutions.js"
import { invalid } from "../rules/errors.js"
import * as f from "../rules/fields.js"
import { codePoints } from "../rules/text.js"
import {
  ATTACHMENT_TYPES,
  ATTENDANCE,
  IDS_SINCE,
  MAX_AGENDA,
  MAX_ATTACHMENT_BYTES,
  MAX_MINUTES,
  MEETING_KINDS,
  STUDIES,
} from "../rules/schema.js"
import { unknownMember } from "./roster.js"
import type { Mutation } from "./types.js"

function meetingObj(doc: Doc, meetingId: string): Record<string, unknown> {
  const obj = child(container(doc, "meetings"), meetingId)
  if (obj === null) throw invalid("unknown_meeting", "Không có buổi sinh hoạt này.", "No such meeting.", meetingId)
  return obj
}

export interface Schedule {
  meeting_id: string
  date: string
  kind: string
  agenda: string
  by: string
}

export function scheduleMeeting(doc: Doc, a: Schedule): Mutation {
  const parent = container(doc, "meetings")
  if (child(parent, a.meeting_id) !== null) {
    throw invalid("meeting_exists", "Mã buổi họp đã tồn tại.", "Meeting id already exists.")
  }
  const record = {
    date: f.isoDate(a.date, "date", true),
    kind: f.choice(a.kind, "kind", MEETING_KINDS, "bad_meeting_kind"),
    agenda: f.longText(a.agenda, "agenda", MAX_AGENDA),
    scheduled_by: a.by,
  }
  return d => {
    const meetings = reach(d, ["meetings"])
    meetings[a.meeting_id] = {}
    const obj = meetings[a.meeting_id] as Record<string, unknown>
    for (const [k, v] of Object.entries(record)) put(obj, k, v)
    obj.attendance = {}
    obj.minutes = "" // Text: two secretaries typing offline merge by character
    obj.resolutions = []
    obj.attachments = {}
  }
}

export function recordAttendance(
  doc: Doc,
  a: { meeting_id: string; member_id: string; value: string; members: Iterable<string> },
): Mutation {
  meetingObj(doc, a.meeting_id)
  const value = f.choice(a.value, "attendance", ATTENDANCE, "bad_attendance")
  if (!new Set(a.members).has(a.member_id)) throw unknownMember(a.member_id)
  return d => put(reach(d, ["meetings", a.meeting_id, "attendance"]), a.member_id, value)
}

export function editMinutes(
  doc: Doc,
  a: { meeting_id: string; index: number; delete: number; insert: string },
): Mutation {
  const minutes = meetingObj(doc, a.meeting_id).minutes
  const length = typeof minutes === "string" ? codePoints(minutes) : 0
  const insert = f.longText(a.insert, "minutes", MAX_MINUTES)
  if (!(a.index >= 0 && a.index <= length && a.delete >= 0 && a.delete <= length - a.index)) {
    throw invalid(
      "bad_text_range",
      "Vị trí sửa biên bản nằm ngoài văn bản.",
      "Edit position is outside the minutes text.",
      `index=${a.index} delete=${a.delete} length=${length}`,
    )
  }
  if (length - a.delete + codePoints(insert) > MAX_MINUTES) {
    throw invalid("too_long", `Biên bản dài quá ${MAX_MINUTES} ký tự.`, `Minutes longer than ${MAX_MINUTES} characters.`)
  }
  return d => {
    const text = reach(d, ["meetings", a.meeting_id]).minutes as string
    // Automerge JS counts UTF-16 units; the schema counts characters (code points).
    const units = (n: number) => Array.from(text).slice(0, n).join("").length
    const start = units(a.index)
    const end = units(a.index + a.delete)
    spliceText(d, ["meetings", a.meeting_id, "minutes"], start, end - start, insert)
  }
}

type Splice = (d: Doc, path: string[], index: number, del: number, text: string) => void
let spliceText: Splice = () => {
  throw new Error("splice not initialised")
}
/** Automerge's ``splice``, handed in by the module that loads Automerge (keeps this pure). */
export function useSplice(splice: Splice): void {
  spliceText = splice
}

/** Every resolution id of the document's meetings (their own or derived). */
function resolutionIdsIn(doc: Doc): Set<string> {
  const taken = new Set<string>()
  for (const [mid, m] of Object.entries(container(doc, "meetings"))) {
    const entries = childList(m, "resolutions")
    if (entries !== null && child(container(doc, "meetings"), mid) !== null) {
      for (const rid of resolutionIds(mid, plain(entries) as Plain[])) if (rid !== null) taken.add(rid)
    }
  }
  return taken
}

export interface AddResolution {
  meeting_id: string
  title: string
  number?: string | null
  studied_date?: string | null
  /** The new resolution's id (schema v3); apps of an older version write none. */
  resolution_id: string | null
  version?: number
}

export function addResolution(doc: Doc, a: AddResolution): Mutation {
  const resolutions = childList(meetingObj(doc, a.meeting_id), "resolutions")
  if (resolutions === null) throw new Error("meeting without resolutions list")
  const record: Record<string, unknown> = {
    title: f.text(a.title, "title", 300),
    number: f.text(a.number ?? null, "number", 40, false),
    studied_date: f.isoDate(a.studied_date ?? null, "studied_date"),
  }
  if ((a.version ?? IDS_SINCE) >= IDS_SINCE) {
    const rid = a.resolution_id
    if (!isClientId(rid)) throw invalid("bad_id", "Mã nghị quyết không hợp lệ.", "Invalid resolution id.", String(rid))
    if (resolutionIdsIn(doc).has(rid)) {
      throw invalid("resolution_exists", "Mã nghị quyết đã tồn tại.", "Resolution id already exists.")
    }
    record.id = rid
  }
  return d => appendMap(reach(d, ["meetings", a.meeting_id]).resolutions as unknown[], record)
}

export interface RecordStudy {
  study_id: string
  meeting_id: string
  resolution_id: string
  member_id: string
  date: string
  by: string
  members: Iterable<string>
}

/** Member ``member_id`` studied the resolution on ``date``; a member's study is recorded once. */
export function recordStudy(doc: Doc, a: RecordStudy): Mutation {
  const parent = container(doc, STUDIES)
  const entries = childList(meetingObj(doc, a.meeting_id), "resolutions") ?? []
  const ids = resolutionIds(a.meeting_id, plain(entries) as Plain[])
  const found = ids.some((rid, i) => rid === a.resolution_id && isMap(plain(entries[i])))
  if (!found) {
    throw invalid("unknown_resolution", "Buổi sinh hoạt này không có nghị quyết đó.", "That meeting has no such resolution.", a.resolution_id)
  }
  if (!new Set(a.members).has(a.member_id)) throw unknownMember(a.member_id)
  const day = f.isoDate(a.date, "date", true)
  const studied = studiedMembers(plain(parent))[a.resolution_id] ?? {}
  if (Object.prototype.hasOwnProperty.call(studied, a.member_id)) {
    throw invalid(
      "already_studied",
      "Đã ghi nhận đảng viên này học tập nghị quyết đó.",
      "That member's study of this resolution is already recorded.",
      a.member_id,
    )
  }
  if (!isClientId(a.study_id) || child(parent, a.study_id) !== null) {
    throw invalid("bad_id", "Mã bản ghi học tập không hợp lệ.", "Invalid study id.", String(a.study_id))
  }
  const record = { resolution_id: a.resolution_id, meeting_id: a.meeting_id, member_id: a.member_id, date: day, by: a.by }
  return d => put(reach(d, [STUDIES]), a.study_id, record)
}

/** The secretary's correction of a study recorded by mistake: kept, marked withdrawn. */
export function withdrawStudy(doc: Doc, a: { study_id: string }): Mutation {
  const obj = child(container(doc, STUDIES), a.study_id)
  const record = obj === null ? null : plain(obj)
  if (!isMap(record) || get(record, "withdrawn") === true) {
    throw invalid(
      "unknown_study",
      "Không có bản ghi học tập này (hoặc đã rút).",
      "No such study record (or already withdrawn).",
      a.study_id,
    )
  }
  return d => put(reach(d, [STUDIES, a.study_id]), "withdrawn", true)
}

export interface AddAttachment {
  meeting_id: string
  sha256: string
  name: string
  mime_type: string
  size: number
}

export function addAttachment(doc: Doc, a: AddAttachment): Mutation {
  meetingObj(doc, a.meeting_id)
  const record = {
    name: f.text(a.name, "name", 200),
    mime_type: f.choice(a.mime_type, "mime_type", ATTACHMENT_TYPES, "bad_mime"),
    size: f.positiveInt(a.size, "size", MAX_ATTACHMENT_BYTES),
  }
  const key = f.contentHash(a.sha256)
  return d => put(reach(d, ["meetings", a.meeting_id, "attachments"]), key, record)
}
