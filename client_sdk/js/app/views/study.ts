/** Who studied a resolution (schema v3 study records): the secretary records it for the members
 * who studied, usually those present at the meeting, and corrects a mistake by withdrawing the
 * record; a member records their own study from their page. The district's "resolution study"
 * report counts these records (docs/reports.md). */

import { meetings, type Meeting, type Member, type Resolution } from "../../src/sdk/readers.js"
import { field, h } from "../dom.js"
import { t } from "../i18n.js"
import { attempt, type AppContext } from "../context.js"

function write(ctx: AppContext, cellId: string, name: string, args: Record<string, unknown>): Promise<unknown> {
  return ctx.book.write(name, { cell_id: cellId, ...args })
}

/** The secretary's part under one resolution: who studied it (each with a withdraw button),
 * and a form with a checkbox for every current member still to record, ticked for those
 * marked present at the meeting. */
export function studyPanel(ctx: AppContext, cellId: string, m: Meeting, r: Resolution, people: Member[], secretary: boolean): HTMLElement {
  // Two members may share a name: their card numbers tell them apart.
  const shared = (p: Member) => people.filter(o => o.full_name === p.full_name).length > 1
  const names = new Map(people.map(p => [p.member_id, shared(p) && p.card_number ? `${p.full_name} (${p.card_number})` : p.full_name]))
  const done = new Set(r.studied_by.map(s => s.member_id))
  const list = h(
    "ul",
    { class: "list", "aria-label": `${t("studied_by")} ${r.title}` },
    ...r.studied_by.map(s =>
      h(
        "li",
        { class: "study" },
        h("span", {}, `${names.get(s.member_id) ?? s.member_id}${s.date ? ` — ${s.date}` : ""}`),
        secretary
          ? h(
              "button",
              {
                type: "button",
                "aria-label": `${t("withdraw_study")}: ${names.get(s.member_id) ?? s.member_id}`,
                onclick: () => void attempt(ctx, () => write(ctx, cellId, "meetings.withdraw_study", { study_id: s.study_id }), t("saved")),
              },
              t("withdraw_study"),
            )
          : null,
      ),
    ),
  )
  const waiting = people.filter(p => !done.has(p.member_id))
  if (!secretary || waiting.length === 0) return h("div", { class: "studies" }, list)
  const form = h(
    "form",
    {
      class: "card",
      "aria-label": `${t("record_study")}: ${r.title}`,
      onsubmit: async (e: Event) => {
        e.preventDefault()
        const data = new FormData(e.target as HTMLFormElement)
        const chosen = data.getAll("member").map(String)
        const date = String(data.get("date") ?? "") || undefined
        if (chosen.length === 0) return ctx.say(t("choose_members"), "error")
        // One record per member: a refusal stops at that member, the ones before are kept.
        await attempt(
          ctx,
          async () => {
            for (const member_id of chosen) {
              await write(ctx, cellId, "meetings.record_study", { meeting_id: m.meeting_id, resolution_id: r.resolution_id, member_id, date })
            }
          },
          t("saved"),
        )
      },
    },
    h(
      "fieldset",
      {},
      h("legend", {}, t("record_study")),
      ...waiting.map(p =>
        h("label", { class: "check" }, h("input", { type: "checkbox", name: "member", value: p.member_id, checked: m.attendance[p.member_id] === "present" }), names.get(p.member_id) ?? p.full_name),
      ),
    ),
    field(t("studied_date"), h("input", { name: "date", type: "date", value: r.studied_date ?? m.date })),
    h("button", { type: "submit", class: "primary" }, t("record_study")),
  )
  return h("div", { class: "studies" }, list, form)
}

/** A member's page: the cell's resolutions, each with their own study or a button to record it. */
export function myStudies(ctx: AppContext, cellId: string): HTMLElement {
  const me = ctx.book.memberId
  const rows = meetings(ctx.book.read(cellId, "meetings")).flatMap(m => m.resolutions.map(r => ({ m, r })))
  if (rows.length === 0) return h("p", {}, t("no_resolutions"))
  return h(
    "ul",
    { class: "list", "aria-label": t("my_studies") },
    ...rows.map(({ m, r }) => {
      const mine = r.studied_by.find(s => s.member_id === me)
      return h(
        "li",
        { class: "study" },
        h("span", {}, `${r.number ? `${r.number} — ` : ""}${r.title}`),
        mine
          ? h("span", { class: "badge" }, `${t("studied_on")} ${mine.date ?? ""}`)
          : h(
              "button",
              {
                type: "button",
                class: "primary",
                "aria-label": `${t("i_studied")}: ${r.title}`,
                onclick: () =>
                  void attempt(
                    ctx,
                    () => write(ctx, cellId, "meetings.record_study", { meeting_id: m.meeting_id, resolution_id: r.resolution_id }),
                    t("saved"),
                  ),
              },
              t("i_studied"),
            ),
      )
    }),
  )
}
