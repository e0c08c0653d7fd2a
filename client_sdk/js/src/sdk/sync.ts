/** Moves the documents to and from the server whenever there is signal: a websocket with a
 * fresh token (automerge-repo's adapter), the server's rejection notice turned into a reset and
 * a new session, acknowledgements from the server's heads, attachment uploads, and the
 * connection state people see. Every wait is bounded; nothing here blocks a local edit. */

import type { DocHandle } from "@automerge/automerge-repo/slim"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import type { Doc } from "../doc/containers.js"
import { SotayError } from "../rules/errors.js"
import { REJECTION_NOTICE } from "../rules/schema.js"
import type { Api, Me } from "./api.js"
import type { Handbook } from "./handbook.js"
import type { Refusal } from "./store.js"

export interface RejectionNotice {
  type: string
  rule: string
  code: string
  message_vi: string
  message_en: string
  path: unknown
}

export interface SyncOptions {
  /** How often the server's heads are compared with ours while connected (ms). */
  pollMs?: number
  /** Called with the refusals a reset produced. */
  onRefusals?: (refusals: Refusal[]) => void
}

export function wsUrl(base: string): string {
  return base.replace(/^http/, "ws").replace(/\/$/, "") + "/sync"
}

export class SyncClient {
  private adapter: WebSocketClientAdapter | null = null
  private timer: ReturnType<typeof setInterval> | null = null
  private readonly rejections = new Map<string, RejectionNotice>()
  private readonly resets = new Map<string, number>()
  private busy = false
  /** Reconnects back off exponentially with full jitter (docs/design.md, "Congestion"): a
   * district whose signal returns at once does not reconnect in step. */
  private failures = 0
  private nextAttempt = 0
  /** Heads are compared over HTTP while something is unconfirmed (a local write waiting, a
   * change just received), and otherwise twice a minute: a district of idle phones must not
   * poll the server every few seconds. */
  private dirty = true
  private lastCompared = 0
  held = false
  me: Me | null = null

  constructor(
    readonly book: Handbook,
    readonly api: Api,
    private readonly options: SyncOptions = {},
  ) {
    book.onHandle((documentId, handle) => this.listen(documentId, handle))
    book.subscribe(event => {
      if (event.origin !== "status") this.dirty = true
    })
    const network = book.repo.networkSubsystem
    network.on("peer", () => {
      this.failures = 0
      book.connected = true
      book.notify({ cellId: null, kind: null, origin: "status" })
      void this.tick()
    })
    network.on("peer-disconnected", () => {
      book.connected = false
      book.notify({ cellId: null, kind: null, origin: "status" })
    })
  }

  private listen(documentId: string, handle: DocHandle<Doc>): void {
    handle.on("ephemeral-message", ({ message }) => {
      const notice = message as RejectionNotice | undefined
      if (notice && typeof notice === "object" && notice.type === REJECTION_NOTICE) {
        this.rejections.set(documentId, notice)
        void this.tick()
      }
    })
  }

  /** Sign in, learn our cells and roles, open the websocket; then keep it going. */
  async start(): Promise<void> {
    this.timer ??= setInterval(() => void this.tick(), this.options.pollMs ?? 2000)
    await this.connect()
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    this.disconnect()
  }

  /** Roles, cells and the hold come from the server (kept for offline use). */
  async refreshAccess(): Promise<Me> {
    const me = await this.api.me()
    this.me = me
    this.held = Boolean(me.held)
    await this.book.setHeld(this.held)
    await this.book.setAccess(Object.fromEntries(Object.entries(me.cells).map(([c, info]) => [c, info.roles])))
    for (const [cellId, info] of Object.entries(me.cells)) {
      if (info.roles.some(r => r === "member" || r === "cell_secretary" || r === "cell_deputy")) {
        await this.book.addCell(cellId, info.documents)
      }
    }
    return me
  }

  async connect(): Promise<void> {
    this.disconnect()
    try {
      await this.refreshAccess()
      const token = await this.api.currentToken()
      const adapter = new WebSocketClientAdapter(`${wsUrl(this.api.base)}?token=${encodeURIComponent(token)}`, 3000)
      this.adapter = adapter
      this.book.repo.networkSubsystem.addNetworkAdapter(adapter)
      await this.book.load()
      this.book.lastError = null
    } catch (exc) {
      this.book.lastError = exc instanceof SotayError ? exc.code : String(exc)
      this.book.notify({ cellId: null, kind: null, origin: "status" })
    }
    this.nextAttempt = Math.max(this.nextAttempt, Date.now() + 10_000)
  }

  disconnect(): void {
    const adapter = this.adapter
    this.adapter = null
    if (adapter !== null) {
      try {
        this.book.repo.networkSubsystem.removeNetworkAdapter(adapter) // disconnects it too
      } catch {
        // it never opened a socket
      }
    }
    this.book.connected = false
  }

  /** One round: handle a refusal, else compare heads with the server (acknowledgement, last
   * sync), else reconnect a session that has been down for a while (with a fresh token). */
  async tick(): Promise<void> {
    if (this.busy) return
    this.busy = true
    try {
      if (this.rejections.size > 0) await this.resetRejected()
      else if (this.book.connected) {
        const status = await this.book.status()
        const pending = status.pendingChanges > 0 || status.pendingAttachments > 0
        if (this.dirty || pending || Date.now() - this.lastCompared > 30_000) {
          this.dirty = false
          this.lastCompared = Date.now()
          await this.compareHeads()
        }
      }
      else if (this.adapter !== null && Date.now() >= this.nextAttempt) {
        this.failures += 1
        const ceiling = Math.min(60_000, 2_000 * 2 ** Math.min(this.failures, 5))
        this.nextAttempt = Date.now() + 5_000 + Math.random() * ceiling
        await this.connect()
      }
    } catch (exc) {
      this.book.lastError = exc instanceof SotayError ? exc.code : String(exc)
    } finally {
      this.busy = false
    }
  }

  private async compareHeads(): Promise<void> {
    let all = true
    for (const documentId of this.book.documentIds()) {
      const heads = await this.api.serverHeads(documentId)
      all = (await this.book.acknowledge(documentId, heads)) && all
    }
    if (all) await this.book.markSynced()
    await this.uploadAttachments()
  }

  /** The server refused one of our edits and stopped answering that document on this
   * session: reset to its state, replay what is still allowed, open a new session. */
  private async resetRejected(): Promise<void> {
    await this.refreshAccess() // replay under the roles the server holds now
    const refusals: Refusal[] = []
    for (const [documentId, notice] of [...this.rejections]) {
      this.rejections.delete(documentId)
      const count = (this.resets.get(documentId) ?? 0) + 1
      this.resets.set(documentId, count)
      const heads = await this.api.serverHeads(documentId)
      // Refused again after a replay: our rules and the server's disagree; stop replaying.
      const again = count > 1 ? { code: notice.rule || notice.code, vi: notice.message_vi, en: notice.message_en } : undefined
      refusals.push(...(await this.book.resetDocument(documentId, heads, again)))
    }
    this.options.onRefusals?.(refusals)
    await this.connect()
  }

  private async uploadAttachments(): Promise<void> {
    for (const upload of await this.book.store.uploads()) {
      if (upload.state !== "to_upload") continue
      try {
        await this.api.upload(upload.cellId, upload.sha256, upload.bytes)
        await this.book.store.putUpload({ ...upload, state: "uploaded" })
      } catch (exc) {
        if (exc instanceof SotayError && exc.code !== "offline" && exc.code !== "quota_exceeded") {
          await this.book.store.putUpload({ ...upload, state: "refused" })
        }
        return
      }
    }
  }
}
