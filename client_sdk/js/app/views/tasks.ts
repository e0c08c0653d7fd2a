/** Tasks: the secretary assigns and follows them; the assignee moves them along and reports
 * progress. */

import { members, tasks, type Task } from "../../src/sdk/readers.js"
import { field, h, select } from "../dom.js"
import { code, t } from "../i18n.js"
import { attempt, isSecretary, saveOrCancel, writeForm, type AppContext } from "../context.js"

let assigning = false

function assignForm(ctx: AppContext, cellId: string): HTMLElement {
  const current = members(ctx.book.read(cellId, "roster")).filter(m => m.status === "probationary" || m.status === "full")
  return writeForm(
    ctx,
    { class: "card", "aria-label": t("assign") },
    v => ctx.book.write("tasks.assign", { cell_id: cellId, title: v.title, assignee: v.assignee, due_date: v.due_date || undefined, description: v.description ?? "" }),
    () => (assigning = false),
    field(t("title"), h("input", { name: "title", required: true })),
    field(t("assignee"), select("assignee", current.map(m => [m.member_id, m.full_name] as [string, string]))),
    field(t("due_date"), h("input", { name: "due_date", type: "date" })),
    field(t("description"), h("textarea", { name: "description", rows: 2 })),
    saveOrCancel(ctx, () => (assigning = false)),
  )
}

export function taskCard(ctx: AppContext, cellId: string, task: Task, names: Map<string, string>): HTMLElement {
  const secretary = isSecretary(ctx)
  const mine = task.assignee === ctx.book.memberId
  const move = (op: string, extra: Record<string, unknown> = {}) => () =>
    void attempt(ctx, () => ctx.book.write(op, { cell_id: cellId, task_id: task.task_id, ...extra }), t("saved"))
  const closed = task.status === "done" || task.status === "cancelled"
  const buttons = [
    (mine || secretary) && task.status === "open" ? h("button", { onclick: move("tasks.start") }, t("start")) : null,
    (mine || secretary) && !closed ? h("button", { onclick: move("tasks.complete") }, t("complete")) : null,
    secretary && !closed ? h("button", { onclick: move("tasks.cancel") }, t("cancel_task")) : null,
    secretary && closed ? h("button", { onclick: move("tasks.correct_status", { status: "in_progress" }) }, t("reopen")) : null,
  ]
  const note = h("input", { name: "text", required: true }) as HTMLInputElement
  const progressForm = h(
    "form",
    {
      "aria-label": t("add_progress"),
      onsubmit: (e: Event) => {
        e.preventDefault()
        void attempt(ctx, () => ctx.book.write("tasks.add_progress", { cell_id: cellId, task_id: task.task_id, text: note.value }), t("saved"))
      },
    },
    field(t("add_progress"), note),
    h("button", { type: "submit" }, t("add_progress")),
  )
  return h(
    "article",
    { class: "card task", "aria-label": task.title },
    h("h3", {}, task.title),
    h("p", {}, h("span", { class: `badge t-${task.status}` }, code("task_status", task.status)), " ", `${t("assignee")}: ${names.get(task.assignee) ?? task.assignee}`, task.due_date ? ` · ${t("due_date")}: ${task.due_date}` : ""),
    task.description ? h("p", {}, task.description) : null,
    task.progress.length ? h("ol", { class: "history", "aria-label": t("progress") }, ...task.progress.map(n => h("li", {}, `${names.get(n.who) ?? n.who}: ${n.text}`))) : null,
    h("div", { class: "actions" }, ...buttons),
    mine || secretary ? progressForm : null,
  )
}

export function tasksScreen(ctx: AppContext, cellId: string): HTMLElement {
  const all = tasks(ctx.book.read(cellId, "tasks"))
  const names = new Map(members(ctx.book.read(cellId, "roster")).map(m => [m.member_id, m.full_name]))
  const secretary = isSecretary(ctx)
  const shown = secretary ? all : all.filter(x => x.assignee === ctx.book.memberId)
  return h(
    "section",
    { "aria-labelledby": "tasks-title" },
    h("h2", { id: "tasks-title" }, secretary ? t("tasks_title") : t("my_tasks")),
    secretary ? (assigning ? assignForm(ctx, cellId) : h("button", { class: "primary", onclick: () => ((assigning = true), ctx.render()) }, t("assign"))) : null,
    shown.length ? h("div", {}, ...shown.map(task => taskCard(ctx, cellId, task, names))) : h("p", {}, t("no_tasks")),
  )
}
