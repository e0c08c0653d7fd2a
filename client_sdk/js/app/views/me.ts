/** A member's own page: their contact fields (the only part of the roster they may change),
 * the resolutions they studied (or a button to say so), and their tasks. */

import { members, tasks } from "../../src/sdk/readers.js"
import { field, h } from "../dom.js"
import { code, t } from "../i18n.js"
import { writeForm, type AppContext } from "../context.js"
import { myStudies } from "./study.js"
import { taskCard } from "./tasks.js"

export function meScreen(ctx: AppContext, cellId: string): HTMLElement {
  const roster = members(ctx.book.read(cellId, "roster"))
  const me = roster.find(m => m.member_id === ctx.book.memberId)
  const names = new Map(roster.map(m => [m.member_id, m.full_name]))
  const phone = h("input", { name: "phone", type: "tel", value: me?.phone ?? "" })
  const place = h("input", { name: "place", value: me?.residence_place ?? "" })
  const registered = h("input", { name: "registered", type: "checkbox", checked: me?.residence_registered ?? false })
  const form = writeForm(
    ctx,
    { class: "card", "aria-label": t("me_title") },
    v =>
      ctx.book.write("roster.update_member", {
        cell_id: cellId,
        member_id: ctx.book.memberId,
        phone: v.phone || null,
        residence: { place: v.place || null, registered: v.registered === "on" },
      }),
    null,
    me ? h("p", {}, h("strong", {}, me.full_name), " — ", code("member_status", me.status)) : null,
    field(t("phone"), phone),
    field(t("residence_place"), place),
    h("label", { class: "check" }, registered, t("residence_registered")),
    h("button", { type: "submit", class: "primary" }, t("save")),
  )
  const mine = tasks(ctx.book.read(cellId, "tasks")).filter(x => x.assignee === ctx.book.memberId)
  return h(
    "section",
    { "aria-labelledby": "me-title" },
    h("h2", { id: "me-title" }, t("me_title")),
    form,
    h("h2", {}, t("my_studies")),
    myStudies(ctx, cellId),
    h("h2", {}, t("my_tasks")),
    mine.length ? h("div", {}, ...mine.map(task => taskCard(ctx, cellId, task, names))) : h("p", {}, t("no_tasks")),
  )
}
