/** The schema operations by the names the conformance file (and pending writes) use. */

import type { Doc } from "../doc/containers.js"
import * as mt from "./meetings.js"
import { resolveDuplicate } from "./resolution.js"
import * as rs from "./roster.js"
import * as tk from "./tasks.js"
import type { Mutation, OpContext } from "./types.js"

export type SchemaOp = (doc: Doc, args: any, ctx: OpContext) => Mutation

export const SCHEMA_OPS: Record<string, { kind: string; run: SchemaOp }> = {
  "roster.add_member": { kind: "roster", run: rs.addMember },
  "roster.update_member": { kind: "roster", run: rs.updateMember },
  "roster.change_status": { kind: "roster", run: rs.changeStatus },
  "roster.set_position": { kind: "roster", run: rs.setPosition },
  "roster.record_transfer": { kind: "roster", run: rs.recordTransfer },
  "roster.resolve_duplicate": { kind: "roster", run: resolveDuplicate },
  "meetings.schedule": { kind: "meetings", run: mt.scheduleMeeting },
  "meetings.record_attendance": { kind: "meetings", run: mt.recordAttendance },
  "meetings.edit_minutes": { kind: "meetings", run: mt.editMinutes },
  "meetings.add_resolution": { kind: "meetings", run: mt.addResolution },
  "meetings.add_attachment": { kind: "meetings", run: mt.addAttachment },
  "meetings.record_study": { kind: "meetings", run: mt.recordStudy },
  "meetings.withdraw_study": { kind: "meetings", run: mt.withdrawStudy },
  "tasks.assign": { kind: "tasks", run: tk.assignTask },
  "tasks.set_status": { kind: "tasks", run: tk.setTaskStatus },
  "tasks.add_progress": { kind: "tasks", run: tk.addProgress },
}
