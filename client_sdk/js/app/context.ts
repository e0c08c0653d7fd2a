/** What every screen reaches: the SDK objects, who is signed in, and the app's own actions. */

import type { Api } from "../src/sdk/api.js"
import type { Handbook } from "../src/sdk/handbook.js"
import type { DeviceKey } from "../src/sdk/identity.js"
import type { SyncClient } from "../src/sdk/sync.js"
import { SotayError } from "../src/rules/errors.js"
import { getLang } from "./i18n.js"

export interface AppContext {
  api: Api
  book: Handbook
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
