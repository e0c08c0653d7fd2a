/** The device's writes by their stable operation names and arguments, the same records the
 * Python SDK keeps (client_sdk/operations.py): ``roster.add_member`` with ``{cell_id, full_name,
 * …}``. A pending write is stored this way and replayed this way after a refusal. Each turns
 * into one schema operation (src/ops) on one of the cell's documents. */

import type { Doc } from "../doc/containers.js"
import { invalid } from "../rules/errors.js"
import { CURRENT_VERSION, type Kind } from "../rules/schema.js"
import * as mt from "../ops/meetings.js"
import { resolveDuplicate } from "../ops/resolution.js"
import * as rs from "../ops/roster.js"
import * as tk from "../ops/tasks.js"
import type { Mutation, OpContext } from "../ops/types.js"
import { plain } from "../doc/values.js"
import { meetings as readMeetings } from "./readers.js"

export interface WriteContext extends OpContext {
  /** The person using the device (written as "by" and as a note's author). */
  by: string
  now: () => string
  /** Another document of the same cell, read as it is here (the roster, for attendance). */
  read: (kind: Kind) => Doc
}

type Args = Record<string, any>

export interface OperationDef {
  kind: Kind
  /** Ids the write makes (member, meeting, task, transfer) are pinned into its arguments, so a
   * replay makes the same record. */
  pin?: (args: Args) => Args
  run: (doc: Doc, args: Args, ctx: WriteContext) => Mutation
}

const newId = (prefix: string) => {
  const bytes = crypto.getRandomValues(new Uint8Array(6))
  return `${prefix}-${Array.from(bytes, b => b.toString(16).padStart(2, "0")).join("")}`
}

const fieldsOf = (args: Args, omit: string[]) =>
  Object.fromEntries(Object.entries(args).filter(([k]) => !omit.includes(k)))

const taskStatus = (status: string, correction = false): OperationDef => ({
  kind: "tasks",
  run: (doc, a, ctx) =>
    tk.setTaskStatus(doc, { task_id: a.task_id, status: a.status ?? status, by: ctx.by, when: ctx.now(), correction }, ctx),
})

export const OPERATIONS: Record<string, OperationDef> = {
  "roster.add_member": {
    kind: "roster",
    pin: a => ({ ...a, member_id: a.member_id ?? newId("m") }),
    run: (doc, a, ctx) =>
      rs.addMember(
        doc,
        {
          member_id: a.member_id,
          data: { full_name: a.full_name, ...fieldsOf(a, ["cell_id", "full_name", "status", "member_id"]) },
          status: a.status ?? "probationary",
          by: ctx.by,
          version: CURRENT_VERSION,
        },
        ctx,
      ),
  },
  "roster.update_member": {
    kind: "roster",
    run: (doc, a) => rs.updateMember(doc, { member_id: a.member_id, data: fieldsOf(a, ["cell_id", "member_id"]) }),
  },
  "roster.change_status": {
    kind: "roster",
    run: (doc, a, ctx) =>
      rs.changeStatus(
        doc,
        {
          member_id: a.member_id,
          status: a.status,
          reason: a.reason,
          by: ctx.by,
          date: a.date ?? null,
          official_date: a.official_date ?? null,
          correction: a.correction ?? false,
        },
        ctx,
      ),
  },
  "roster.set_position": {
    kind: "roster",
    run: (doc, a) => rs.setPosition(doc, { position: a.position, member_id: a.member_id ?? null }),
  },
  "roster.record_transfer": {
    kind: "roster",
    pin: a => ({ ...a, transfer_id: a.transfer_id ?? newId("tr") }),
    run: (doc, a, ctx) =>
      rs.recordTransfer(doc, {
        transfer_id: a.transfer_id,
        member_id: a.member_id,
        direction: a.direction,
        other_unit: a.other_unit,
        date: a.date,
        letter_number: a.letter_number ?? null,
        by: ctx.by,
      }),
  },
  "roster.resolve_duplicate": {
    kind: "roster",
    run: (doc, a) => resolveDuplicate(doc, { keep_id: a.keep_id, other_id: a.other_id, action: a.action ?? "merge" }),
  },
  "meetings.schedule": {
    kind: "meetings",
    pin: a => ({ ...a, meeting_id: a.meeting_id ?? newId("hop") }),
    run: (doc, a, ctx) =>
      mt.scheduleMeeting(doc, { meeting_id: a.meeting_id, date: a.date, kind: a.kind, agenda: a.agenda ?? "", by: ctx.by }),
  },
  "meetings.record_attendance": {
    kind: "meetings",
    run: (doc, a, ctx) =>
      mt.recordAttendance(doc, {
        meeting_id: a.meeting_id,
        member_id: a.member_id,
        value: a.value,
        members: Object.keys(rs.listedMembers(ctx.read("roster"))),
      }),
  },
  "meetings.edit_minutes": {
    kind: "meetings",
    run: (doc, a) =>
      mt.editMinutes(doc, { meeting_id: a.meeting_id, index: a.index, delete: a.delete ?? 0, insert: a.insert ?? "" }),
  },
  "meetings.add_resolution": {
    kind: "meetings",
    pin: a => ({ ...a, resolution_id: a.resolution_id ?? newId("nq") }),
    run: (doc, a) =>
      mt.addResolution(doc, {
        meeting_id: a.meeting_id,
        title: a.title,
        number: a.number ?? null,
        studied_date: a.studied_date ?? null,
        resolution_id: a.resolution_id,
        version: CURRENT_VERSION,
      }),
  },
  "meetings.record_study": {
    kind: "meetings",
    // Who (default: the device's user) and when (default: the resolution's study date, else
    // the meeting's date) are pinned with the record's id, so a replay makes the same record.
    pin: a => ({ ...a, study_id: a.study_id ?? newId("hoc") }),
    run: (doc, a, ctx) =>
      mt.recordStudy(doc, {
        study_id: a.study_id,
        meeting_id: a.meeting_id,
        resolution_id: a.resolution_id,
        member_id: a.member_id ?? ctx.by,
        date: a.date ?? studyDate(doc, a.meeting_id, a.resolution_id) ?? "",
        by: ctx.by,
        members: Object.keys(rs.listedMembers(ctx.read("roster"))),
      }),
  },
  "meetings.withdraw_study": {
    kind: "meetings",
    run: (doc, a) => mt.withdrawStudy(doc, { study_id: a.study_id }),
  },
  "meetings.add_attachment": {
    kind: "meetings",
    run: (doc, a) =>
      mt.addAttachment(doc, { meeting_id: a.meeting_id, sha256: a.sha256, name: a.name, mime_type: a.mime_type, size: a.size }),
  },
  "tasks.assign": {
    kind: "tasks",
    pin: a => ({ ...a, task_id: a.task_id ?? newId("viec") }),
    run: (doc, a, ctx) =>
      tk.assignTask(
        doc,
        {
          task_id: a.task_id,
          title: a.title,
          assignee: a.assignee,
          assigned_by: ctx.by,
          current_members: rs.currentMemberIds(ctx.read("roster")),
          description: a.description ?? "",
          due_date: a.due_date ?? null,
        },
        ctx,
      ),
  },
  "tasks.start": taskStatus("in_progress"),
  "tasks.complete": taskStatus("done"),
  "tasks.cancel": taskStatus("cancelled"),
  "tasks.correct_status": taskStatus("", true),
  "tasks.add_progress": {
    kind: "tasks",
    run: (doc, a, ctx) => tk.addProgress(doc, { task_id: a.task_id, who: ctx.by, text: a.text, when: ctx.now() }, ctx),
  },
}

/** The date a study defaults to: the resolution's study date, else the meeting's date. */
function studyDate(doc: Doc, meetingId: string, resolutionId: string): string | null {
  const found = readMeetings(plain(doc)).find(m => m.meeting_id === meetingId)
  const resolution = found?.resolutions.find(r => r.resolution_id === resolutionId)
  return resolution?.studied_date || found?.date || null
}

export function operation(name: string): OperationDef {
  const def = OPERATIONS[name]
  if (def === undefined) {
    throw invalid(
      "unknown_operation",
      "Phiên bản ứng dụng này không biết thao tác đang chờ; hãy cập nhật ứng dụng.",
      "This app version does not know the waiting operation; update the app.",
    )
  }
  return def
}
