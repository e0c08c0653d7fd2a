/** Enrolment: card number, a photo of the card and a selfie (the phone's camera opens for
 * each), sent with the device's public key to POST /api/enroll. */

import type { Enrolled } from "../../src/sdk/api.js"
import { h, field } from "../dom.js"
import { t } from "../i18n.js"
import { explain, type AppContext } from "../context.js"

export function enrolScreen(ctx: Pick<AppContext, "api" | "key" | "say">, onEnrolled: (e: Enrolled) => Promise<void>): HTMLElement {
  const card = h("input", { name: "card_number", inputmode: "decimal", autocomplete: "off", required: true })
  const cardPhoto = h("input", { name: "card_photo", type: "file", accept: "image/*", capture: "environment", required: true })
  const selfie = h("input", { name: "selfie", type: "file", accept: "image/*", capture: "user", required: true })
  const button = h("button", { type: "submit", class: "primary" }, t("enrol_submit")) as HTMLButtonElement
  const form = h(
    "form",
    {
      onsubmit: async (e: Event) => {
        e.preventDefault()
        const photo = (cardPhoto as HTMLInputElement).files?.[0]
        const face = (selfie as HTMLInputElement).files?.[0]
        if (!photo || !face) return
        button.disabled = true
        button.textContent = t("enrolling")
        try {
          const enrolled = await ctx.api.enrol((card as HTMLInputElement).value.trim(), ctx.key.publicKeyB64, photo, face)
          await onEnrolled(enrolled)
        } catch (exc) {
          ctx.say(explain(exc), "error")
          button.disabled = false
          button.textContent = t("enrol_submit")
        }
      },
    },
    field(t("card_number"), card),
    field(t("card_photo"), cardPhoto),
    field(t("selfie"), selfie),
    button,
  )
  return h("section", { "aria-labelledby": "enrol-title" }, h("h2", { id: "enrol-title" }, t("enrol_title")), h("p", {}, t("enrol_intro")), form)
}
