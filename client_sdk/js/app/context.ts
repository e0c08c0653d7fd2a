/** What every screen reaches: the SDK objects, who is signed in, and the app's own actions. */

import type { Api } from "../src/sdk/api.js"
import type { Handbook } from "../src/sdk/handbook.js"
import type { Pictures } from "../src/sdk/pictures.js"
import type { DeviceKey } from "../src/sdk/identity.js"
import type { SyncClient } from "../src/sdk/sync.js"
import { SotayError } from "../src/rules/errors.js"
import { formValues, h } from "./dom.js"
import { getLang, t } from "./i18n.js"

export interface AppContext {
  api: Api
  book: Handbook
  pictures: Pictures
  sync: SyncClient
  key: DeviceKey
  cellId: string | null
  roles: Set<string>
  /** Draw the current screen again (after an edit, a remote change, a language switch). */
  render: () => void
  /** Show a message people read (errors in their words). */
  say: (text: string, kind?: "info" | "error") => void
}

export function isSecretary(ctx: AppContext): boolean {
  return ctx.roles.has("cell_secretary") || ctx.roles.has("cell_deputy")
}

/** A refusal or failure as a secretary reads it. */
export function explain(exc: unknown): string {
  if (exc instanceof SotayError) return getLang() === "vi" ? exc.messageVi : exc.messageEn
  return String(exc)
}

/** Run a write; say why it was refused, or that it is saved on this device. */
export async function attempt(ctx: AppContext, work: () => Promise<unknown>, done?: string): Promise<boolean> {
  try {
    await work()
    if (done) ctx.say(done)
    ctx.render()
    return true
  } catch (exc) {
    ctx.say(explain(exc), "error")
    return false
  }
}

/** A form whose submit writes: its values (``formValues``) go to ``write`` through ``attempt``
 * (saved, or why not, said); once saved, ``done`` (if any) runs and the screen is drawn again. */
export function writeForm(
  ctx: AppContext,
  attrs: { class?: string; "aria-label": string },
  write: (v: Record<string, string>) => Promise<unknown>,
  done: (() => void) | null,
  ...children: (HTMLElement | null)[]
): HTMLElement {
  return h(
    "form",
    {
      ...attrs,
      onsubmit: async (e: Event) => {
        e.preventDefault()
        const v = formValues(e.target as HTMLFormElement)
        const ok = await attempt(ctx, () => write(v), t("saved"))
        if (ok && done) {
          done()
          ctx.render()
        }
      },
    },
    ...children,
  )
}

/** Save, and cancel (``close`` the form, draw again): the buttons of a form that adds. */
export function saveOrCancel(ctx: AppContext, close: () => void): HTMLElement {
  return h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("save")), h("button", { type: "button", onclick: () => (close(), ctx.render()) }, t("cancel")))
}
