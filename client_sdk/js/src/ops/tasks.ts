/** Tasks (schema/tasks.py): assignment, status moves logged with causal stamps, progress notes. */

import { stamp } from "../conflicts/causalLog.js"
import { effectiveTaskStatus, STATUS_LOG, taskLists } from "../conflicts/taskStatus.js"
import { child, childList, container, reach, type Doc } from "../doc/containers.js"
import { appendMap, plain, put } from "../doc/values.js"
import { invalid, malformed } from "../rules/errors.js"
import * as f from "../rules/fields.js"
import type { PlainMap } from "../rules/plain.js"
import { CLOSED, MAX_TEXT, MAX_TITLE, TASK_STATUSES } from "../rules/schema.js"
import type { Mutation, OpContext } from "./types.js"

function taskObj(doc: Doc, taskId: string): Record<string, unknown> {
  const obj = child(container(doc, "tasks"), taskId)
  if (obj === null) throw invalid("unknown_task", "Không có công việc này.", "No such task.", taskId)
  return obj
}

export interface Assign {
  task_id: string
  title: string
  assignee: string
  assigned_by: string
  current_members: Iterable<string>
  description?: string
  due_date?: string | null
}

export function assignTask(doc: Doc, a: Assign, ctx: OpContext): Mutation {
  const parent = container(doc, "tasks")
  if (child(parent, a.task_id) !== null) {
    throw invalid("task_exists", "Mã công việc đã tồn tại.", "Task id already exists.")
  }
  if (!new Set(a.current_members).has(a.assignee)) {
    throw invalid(
      "assignee_not_member",
      "Người được giao việc phải là đảng viên đang sinh hoạt trong chi bộ.",
      "The assignee must be a current member of the cell.",
      a.assignee,
    )
  }
  const record = {
    title: f.text(a.title, "title", MAX_TITLE),
    description: f.longText(a.description ?? "", "description", MAX_TEXT),
    assignee: a.assignee,
    assigned_by: a.assigned_by,
    due_date: f.isoDate(a.due_date ?? null, "due_date"),
    status: "open",
  }
  const entry = { status: "open", by: a.assigned_by, ...stamp({}, ctx.newId) }
  return d => {
    const tasks = reach(d, ["tasks"])
    tasks[a.task_id] = {}
    const obj = tasks[a.task_id] as Record<string, unknown>
    for (const [k, v] of Object.entries(record)) put(obj, k, v)
    obj.progress = []
    obj[STATUS_LOG] = []
    appendMap(obj[STATUS_LOG] as unknown[], entry)
  }
}

export interface SetStatus {
  task_id: string
  status: string
  by?: string
  when?: string | null
  correction?: boolean
}

export function setTaskStatus(doc: Doc, a: SetStatus, ctx: OpContext): Mutation {
  const obj = taskObj(doc, a.task_id)
  const record = plain(obj) as PlainMap
  const current = effectiveTaskStatus(record)
  const status = f.choice(a.status, "status", TASK_STATUSES, "bad_task_status")
  const correction = a.correction ?? false
  if (CLOSED.has(current) && !correction) {
    throw invalid("task_closed", "Công việc đã hoàn thành hoặc đã hủy.", "The task is already done or cancelled.")
  }
  if (status === current && !correction) {
    throw invalid("status_unchanged", "Trạng thái không thay đổi.", "Status unchanged.")
  }
  const hasLog = childList(obj, STATUS_LOG) !== null
  let entry: Record<string, unknown> = {
    status,
    by: a.by || null,
    when: a.when ?? null,
    correction: correction || null,
  }
  if (hasLog) entry = { ...entry, ...stamp(taskLists(record), ctx.newId) }
  return d => {
    const target = reach(d, ["tasks", a.task_id])
    put(target, "status", status)
    if (hasLog) appendMap(target[STATUS_LOG] as unknown[], entry)
  }
}

export function addProgress(
  doc: Doc,
  a: { task_id: string; who: string; text: string; when?: string | null },
  ctx: OpContext,
): Mutation {
  const obj = taskObj(doc, a.task_id)
  const note = f.text(a.text, "text", MAX_TEXT)
  if (childList(obj, "progress") === null) throw malformed("progress")
  const seen = stamp(taskLists(plain(obj) as PlainMap), ctx.newId)
  const entry = { when: a.when ?? null, who: a.who, text: note, ...seen }
  return d => appendMap(reach(d, ["tasks", a.task_id]).progress as unknown[], entry)
}
