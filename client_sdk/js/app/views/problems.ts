/** What a secretary should look at: changes the server did not accept (and why), and
 * conflicts between devices with the rule's decision, in their words. */

import type { Conflict } from "../../src/conflicts/conflicts.js"
import type { Refusal } from "../../src/sdk/store.js"
import { h } from "../dom.js"
import { members, type Member } from "../../src/sdk/readers.js"
import { code, getLang, operationLabel, t } from "../i18n.js"
import { attempt, explain, isSecretary, type AppContext } from "../context.js"

/** The ordinary writes that settle a conflict, as buttons (the rules judge them like any). */
function resolutions(ctx: AppContext, cellId: string, c: Conflict): HTMLElement | null {
  if (!isSecretary(ctx)) return null
  const write = (op: string, args: Record<string, unknown>) => () => void attempt(ctx, () => ctx.book.write(op, { cell_id: cellId, ...args }), t("saved"))
  const [first, second] = c.subjects
  const buttons: HTMLElement[] = []
  if (c.kind === "member_status" && c.outcome) {
    buttons.push(h("button", { onclick: write("roster.change_status", { member_id: first, status: c.outcome, reason: t("confirm_reason"), correction: true }) }, t("confirm_status")))
  } else if (c.kind === "task_status" && c.outcome) {
    buttons.push(h("button", { onclick: write("tasks.correct_status", { task_id: first, status: c.outcome }) }, t("confirm_status")))
  } else if (c.kind === "duplicate_card_number" || c.kind === "likely_duplicate") {
    // Both records side by side: the secretary keeps the one that is right, and its empty
    // fields are filled from the other (conflict_rules.resolution.merge_members).
    const roster = new Map(members(ctx.book.read(cellId, "roster")).map(m => [m.member_id, m]))
    const pair = [first, second].filter((id): id is string => id !== undefined)
    buttons.push(
      h("ol", { class: "pair" }, ...pair.map(id => h("li", {}, describe(roster.get(id), id)))),
      ...pair.map((keep, i) =>
        h(
          "button",
          { onclick: write("roster.resolve_duplicate", { keep_id: keep, other_id: pair[1 - i], action: "merge" }) },
          t(i === 0 ? "merge_keep_first" : "merge_keep_second"),
        ),
      ),
    )
    if (c.kind === "likely_duplicate") {
      buttons.push(h("button", { onclick: write("roster.resolve_duplicate", { keep_id: first, other_id: second, action: "keep_both" }) }, t("keep_both")))
    }
  }
  return buttons.length ? h("div", { class: "actions" }, ...buttons) : null
}

/** One record of a pair, as the secretary tells them apart: name, card, birth, status. */
function describe(m: Member | undefined, id: string): string {
  if (m === undefined) return id
  const facts = [
    `${t("card_number")}: ${m.card_number ?? "—"}`,
    `${t("birth_date")}: ${m.birth_date ?? "—"}`,
    `${t("joined_date")}: ${m.joined_date ?? "—"}`,
    code("member_status", m.status),
  ]
  return `${m.full_name} (${facts.join("; ")})`
}

/** A secretary reads the cell's reports on a computer: the dashboard signs in with a one-time
 * code this device asks for (needs the network; works once, two minutes). */
function dashboardCode(ctx: AppContext): HTMLElement {
  const shown = h("p", { id: "web-code", role: "status", "aria-live": "polite" })
  const ask = async () => {
    try {
      const { code, expires_at } = await ctx.api.webSignInCode()
      const until = new Date(expires_at).toLocaleTimeString(getLang() === "vi" ? "vi-VN" : "en-GB")
      shown.replaceChildren(h("strong", { class: "code" }, code), " ", t("web_code_until"), " ", until, ". ", t("web_code_where"), ` ${location.origin}/dashboard/`)
    } catch (exc) {
      shown.replaceChildren(explain(exc))
    }
  }
  return h(
    "section",
    { class: "card", "aria-labelledby": "web-code-title" },
    h("h3", { id: "web-code-title" }, t("web_code_title")),
    h("button", { type: "button", onclick: () => void ask() }, t("web_code_button")),
    shown,
  )
}

export function problemsScreen(ctx: AppContext, cellId: string, refusals: Refusal[]): HTMLElement {
  const conflicts = ctx.book.conflicts(cellId)
  const vi = getLang() === "vi"
  return h(
    "section",
    { "aria-labelledby": "problems-title" },
    h("h2", { id: "problems-title" }, t("problems_title")),
    h("h3", {}, t("refused_title")),
    refusals.length
      ? h("ul", { class: "list", "aria-label": t("refused_title") }, ...refusals.map(r => h("li", {}, h("strong", {}, operationLabel(r.operation)), ": ", vi ? r.message_vi : r.message_en || r.message_vi)))
      : h("p", {}, t("nothing")),
    h("h3", {}, t("conflicts_title")),
    conflicts.length
      ? h(
          "ul",
          { class: "list", "aria-label": t("conflicts_title") },
          ...conflicts.map(c => h("li", {}, h("p", {}, vi ? c.message_vi : c.message_en), resolutions(ctx, cellId, c))),
        )
      : h("p", {}, t("nothing")),
    isSecretary(ctx) ? dashboardCode(ctx) : null,
  )
}
