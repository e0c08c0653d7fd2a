/** What a secretary should look at: changes the server did not accept (and why), and
 * conflicts between devices with the rule's decision, in their words. */

import type { Refusal } from "../../src/sdk/store.js"
import { h } from "../dom.js"
import { getLang, operationLabel, t } from "../i18n.js"
import type { AppContext } from "../context.js"

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
      ? h("ul", { class: "list", "aria-label": t("conflicts_title") }, ...conflicts.map(c => h("li", {}, vi ? c.message_vi : c.message_en)))
      : h("p", {}, t("nothing")),
  )
}
