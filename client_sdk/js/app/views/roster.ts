/** The roster: the secretary adds members (card number, probationary or full), moves them
 * through the lifecycle (with the history kept), records transfer papers; a member reads it. */

import { members, transfers, type Member } from "../../src/sdk/readers.js"
import { MEMBER_STATUSES, TRANSFER_DIRECTIONS } from "../../src/rules/schema.js"
import { field, h, select } from "../dom.js"
import { code, t } from "../i18n.js"
import { isSecretary, saveOrCancel, writeForm, type AppContext } from "../context.js"

let openMember: string | null = null
let adding = false

const optional = (v: string | undefined) => (v ? v : undefined)

function addForm(ctx: AppContext, cellId: string): HTMLElement {
  return writeForm(
    ctx,
    { class: "card", "aria-label": t("add_member") },
    v =>
      ctx.book.write("roster.add_member", {
        cell_id: cellId,
        full_name: v.full_name,
        status: v.status,
        card_number: optional(v.card_number),
        birth_date: optional(v.birth_date),
        joined_date: optional(v.joined_date),
        official_date: optional(v.official_date),
        phone: optional(v.phone),
      }),
    () => (adding = false),
    field(t("full_name"), h("input", { name: "full_name", required: true, autocomplete: "off" })),
    field(t("card_number"), h("input", { name: "card_number", inputmode: "decimal", autocomplete: "off" })),
    field(t("status"), select("status", ["probationary", "full"].map(s => [s, code("member_status", s)] as [string, string]))),
    field(t("birth_date"), h("input", { name: "birth_date", type: "date" })),
    field(t("joined_date"), h("input", { name: "joined_date", type: "date" })),
    field(t("official_date"), h("input", { name: "official_date", type: "date" })),
    field(t("phone"), h("input", { name: "phone", type: "tel" })),
    saveOrCancel(ctx, () => (adding = false)),
  )
}

function detail(ctx: AppContext, cellId: string, m: Member): HTMLElement {
  const statusForm = writeForm(
    ctx,
    { "aria-label": t("change_status") },
    v =>
      ctx.book.write("roster.change_status", {
        cell_id: cellId,
        member_id: m.member_id,
        status: v.status,
        reason: v.reason ?? "",
        date: optional(v.date),
        official_date: optional(v.official_date),
        correction: v.correction === "on",
      }),
    null,
    h("h4", {}, t("change_status")),
    field(t("status"), select("status", MEMBER_STATUSES.map(s => [s, code("member_status", s)] as [string, string]), m.status)),
    field(t("reason"), h("input", { name: "reason" })),
    field(t("date"), h("input", { name: "date", type: "date" })),
    field(t("official_date"), h("input", { name: "official_date", type: "date" })),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "correction" }), t("correction")),
    h("button", { type: "submit", class: "primary" }, t("change_status")),
  )
  const transferForm = writeForm(
    ctx,
    { "aria-label": t("transfer") },
    v =>
      ctx.book.write("roster.record_transfer", {
        cell_id: cellId,
        member_id: m.member_id,
        direction: v.direction,
        other_unit: v.other_unit,
        date: v.transfer_date,
        letter_number: optional(v.letter_number),
      }),
    null,
    h("h4", {}, t("transfer")),
    field(t("direction"), select("direction", TRANSFER_DIRECTIONS.map(d => [d, code("transfer_direction", d)] as [string, string]))),
    field(t("other_unit"), h("input", { name: "other_unit" })),
    field(t("date"), h("input", { name: "transfer_date", type: "date" })),
    field(t("letter_number"), h("input", { name: "letter_number" })),
    h("button", { type: "submit" }, t("transfer")),
  )
  return h(
    "div",
    { class: "detail" },
    h("dl", {}, ...facts(m)),
    h("h4", {}, t("history")),
    h(
      "ol",
      { class: "history" },
      ...m.history.map(e =>
        h("li", {}, `${e.date ?? ""} ${code("member_status", e.status)}${e.reason ? ` — ${e.reason}` : ""}${e.correction ? ` (${t("correction")})` : ""}`),
      ),
    ),
    statusForm,
    transferForm,
  )
}

function facts(m: Member): HTMLElement[] {
  const rows: [string, string | null][] = [
    [t("card_number"), m.card_number],
    [t("birth_date"), m.birth_date],
    [t("joined_date"), m.joined_date],
    [t("official_date"), m.official_date],
    [t("phone"), m.phone],
    [t("residence_place"), m.residence_place],
  ]
  return rows.filter(([, v]) => v).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v!)])
}

export function rosterScreen(ctx: AppContext, cellId: string): HTMLElement {
  const roster = ctx.book.read(cellId, "roster")
  const list = members(roster)
  const secretary = isSecretary(ctx)
  const items = list.map(m => {
    const open = openMember === m.member_id
    return h(
      "li",
      { class: open ? "open" : "" },
      h(
        "button",
        {
          class: "row",
          "aria-expanded": open ? "true" : "false",
          onclick: () => ((openMember = open ? null : m.member_id), ctx.render()),
        },
        h("span", { class: "name" }, m.full_name),
        h("span", { class: `badge s-${m.status}` }, code("member_status", m.status)),
        m.card_number ? h("span", { class: "muted" }, m.card_number) : null,
      ),
      open && secretary ? detail(ctx, cellId, m) : open ? h("dl", {}, ...facts(m)) : null,
    )
  })
  const papers = transfers(roster)
  const names = new Map(list.map(m => [m.member_id, m.full_name]))
  return h(
    "section",
    { "aria-labelledby": "roster-title" },
    h("h2", { id: "roster-title" }, t("roster_title")),
    secretary
      ? adding
        ? addForm(ctx, cellId)
        : h("button", { class: "primary", onclick: () => ((adding = true), ctx.render()) }, t("add_member"))
      : h("p", { class: "muted" }, t("read_only_roster")),
    list.length ? h("ul", { class: "list", "aria-label": t("roster_title") }, ...items) : h("p", {}, t("no_members")),
    papers.length
      ? h(
          "section",
          {},
          h("h3", {}, t("transfers")),
          h("ul", { class: "list" }, ...papers.map(p => h("li", {}, `${p.date} — ${names.get(p.member_id) ?? p.member_id}: ${code("transfer_direction", p.direction)} ${p.other_unit}${p.letter_number ? ` (${p.letter_number})` : ""}`))),
        )
      : null,
  )
}
