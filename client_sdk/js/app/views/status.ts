/** The sync status line, always on screen: connection, changes waiting, last sync, conflicts
 * and refusals, in words. */

import type { SyncStatus } from "../../src/sdk/handbook.js"
import { h } from "../dom.js"
import { getLang, t } from "../i18n.js"

export function statusLine(status: SyncStatus, online: boolean, refusals: number, held: boolean): HTMLElement {
  const state = !online ? t("offline") : status.connected ? t("online_synced") : t("connecting")
  const last = status.lastSuccessfulSync
    ? new Date(status.lastSuccessfulSync).toLocaleString(getLang() === "vi" ? "vi-VN" : "en-GB", {
        hour: "2-digit",
        minute: "2-digit",
        day: "2-digit",
        month: "2-digit",
      })
    : t("never_synced")
  const parts = [
    h("strong", { "data-state": !online ? "offline" : status.connected ? "online" : "connecting" }, state),
    h("span", { "data-testid": "pending" }, `${status.pendingChanges} ${t("pending")}`),
    h("span", {}, `${t("last_sync")}: ${last}`),
  ]
  if (status.conflicts > 0) parts.push(h("span", { class: "warn" }, `${status.conflicts} ${t("conflicts")}`))
  if (refusals > 0) parts.push(h("span", { class: "warn" }, `${refusals} ${t("refusals")}`))
  return h(
    "div",
    { id: "sync-status", role: "status", "aria-live": "polite" },
    ...parts,
    held ? h("p", { class: "held" }, t("held")) : null,
  )
}
