/** The SDK's front door: a cell's documents through automerge-repo (IndexedDB storage), the
 * schema's readers, and writes checked by the same rules as the server before they are made
 * (schema/validation.py and schema/access.py, here src/rules). A write lands in the document
 * and in IndexedDB before the call returns, and is remembered as an operation until the server
 * has it; after a refusal the device resets to the server's state and replays what is still
 * allowed (``resetDocument``), as the Python SDK does (docs/design.md, "Refusals"). */

import * as A from "@automerge/automerge/slim"
import type { DocHandle, DocumentId, Repo } from "@automerge/automerge-repo/slim"
import { cellConflicts, type Conflict } from "../conflicts/conflicts.js"
import type { Doc } from "../doc/containers.js"
import { plain } from "../doc/values.js"
import { checkWrite } from "../rules/access.js"
import { invalid, SotayError } from "../rules/errors.js"
import type { Plain } from "../rules/plain.js"
import { DEVICE_HELD, KINDS, type Kind } from "../rules/schema.js"
import { checkValues } from "../rules/validation.js"
import { ancestry, changes, descendants } from "./history.js"
import { operation, type WriteContext } from "./operations.js"
import type { DeviceStore, PendingOp, Refusal } from "./store.js"
import { randomId } from "../conflicts/causalLog.js"
import "../doc/automerge.js" // Automerge's splice for the minutes

export type CellDocuments = Partial<Record<Kind, string>>

export interface SyncStatus {
  connected: boolean
  pendingChanges: number
  lastSuccessfulSync: string | null
  lastError: string | null
  pendingAttachments: number
  conflicts: number
}

export interface ChangeEvent {
  cellId: string | null
  kind: Kind | null
  origin: "local" | "remote" | "status"
}

const bare = (id: string) => id.replace(/^automerge:/, "")

export class Handbook {
  memberId = ""
  /** Enrolled without a confirmed face: the server refuses every write until the secretary
   * confirms the device (docs/enrolment.md); so does the SDK, first. */
  held = false
  private cellDocs: Record<string, CellDocuments> = {}
  private access: Record<string, string[]> | null = null
  private readonly handles = new Map<string, DocHandle<Doc>>()
  private readonly listeners = new Set<(e: ChangeEvent) => void>()
  private pendingCount = 0
  connected = false
  lastError: string | null = null

  private constructor(
    readonly repo: Repo,
    readonly store: DeviceStore,
  ) {}

  static async open(repo: Repo, store: DeviceStore): Promise<Handbook> {
    const book = new Handbook(repo, store)
    book.memberId = (await store.get<string>("member_id")) ?? ""
    book.cellDocs = (await store.get<Record<string, CellDocuments>>("cells")) ?? {}
    book.access = (await store.get<Record<string, string[]>>("access")) ?? null
    book.held = (await store.get<boolean>("held")) ?? false
    for (const reset of await store.resets()) await book.applyReset(reset.documentId, reset.bytes)
    book.pendingCount = (await store.pending()).length
    return book
  }

  // ---- who and what ----------------------------------------------------------------------

  async setUser(memberId: string): Promise<void> {
    this.memberId = memberId
    await this.store.set("member_id", memberId)
  }

  /** Carry a cell's documents (kind -> automerge URL or documentId). */
  async addCell(cellId: string, documents: Record<string, string>): Promise<void> {
    const known: CellDocuments = {}
    for (const kind of KINDS) if (documents[kind]) known[kind] = bare(documents[kind]!)
    this.cellDocs = { ...this.cellDocs, [cellId]: known }
    await this.store.set("cells", this.cellDocs)
  }

  cells(): Record<string, CellDocuments> {
    return this.cellDocs
  }

  /** Roles per cell as GET /api/me reports them: edits are checked against them first. */
  async setAccess(access: Record<string, string[]>): Promise<void> {
    this.access = access
    await this.store.set("access", access)
  }

  async setHeld(held: boolean): Promise<void> {
    this.held = held
    await this.store.set("held", held)
  }

  rolesOn(cellId: string): Set<string> | null {
    const roles = this.access?.[cellId]
    return roles === undefined ? null : new Set(roles)
  }

  documentIds(): string[] {
    return Object.values(this.cellDocs).flatMap(d => Object.values(d))
  }

  private docId(cellId: string, kind: Kind): string {
    const id = this.cellDocs[cellId]?.[kind]
    if (id === undefined) {
      throw invalid("unknown_cell", "Thiết bị chưa được gán chi bộ này.", "This device does not carry that cell.", `${cellId}/${kind}`)
    }
    return id
  }

  // ---- documents -------------------------------------------------------------------------

  /** Load (from IndexedDB, else from the server) every carried document, then make again
   * any pending write whose change the document lacks (the tab was closed between storing the
   * write's record and automerge-repo's storage writing its change). */
  async load(): Promise<void> {
    await Promise.all(this.documentIds().map(id => this.handle(id)))
    await this.recoverPending()
  }

  private recovered = false

  private async recoverPending(): Promise<void> {
    if (this.recovered) return
    this.recovered = true
    for (const op of await this.store.pending()) {
      const handle = this.handles.get(op.documentId)
      if (!handle?.isReady()) continue
      const doc = handle.doc() as A.Doc<unknown>
      if (A.getHeads(doc).length === 0) continue
      const known = new Set(changes(doc).map(c => c.hash))
      if (op.hashes.every(h => known.has(h))) continue
      const { cellId } = this.where(op.documentId)
      let hashes: string[] = []
      try {
        const mutation = this.prepare(cellId ?? "", doc as Doc, op.operation, op.args)
        handle.change(d => mutation(d as Doc))
        hashes = A.getHeads(handle.doc() as A.Doc<unknown>)
      } catch (exc) {
        if (!(exc instanceof SotayError)) throw exc
        await this.store.refusePending(op.seq!, {
          document_id: op.documentId,
          operation: op.operation,
          args: op.args,
          code: exc.code,
          message_vi: exc.messageVi,
          message_en: exc.messageEn,
        })
        continue
      }
      await this.store.replacePending({ ...op, hashes })
      await this.repo.flush([op.documentId as DocumentId])
    }
    this.pendingCount = (await this.store.pending()).length
  }

  async handle(documentId: string): Promise<DocHandle<Doc>> {
    const known = this.handles.get(documentId)
    if (known !== undefined) return known
    const handle = await this.repo.find<Doc>(`automerge:${documentId}` as never)
    this.watch(documentId, handle)
    return handle
  }

  private watch(documentId: string, handle: DocHandle<Doc>): void {
    this.handles.set(documentId, handle)
    handle.on("change", () => this.notifyDoc(documentId, "remote"))
    for (const hook of this.handleHooks) hook(documentId, handle)
  }

  private readonly handleHooks = new Set<(documentId: string, handle: DocHandle<Doc>) => void>()

  /** Call ``hook`` for every document handle now loaded and every one loaded later (a reset
   * replaces a document's handle). */
  onHandle(hook: (documentId: string, handle: DocHandle<Doc>) => void): void {
    this.handleHooks.add(hook)
    for (const [id, handle] of this.handles) hook(id, handle)
  }

  /** Documents already loaded, by id (the sync client listens on them). */
  loadedHandles(): Map<string, DocHandle<Doc>> {
    return this.handles
  }

  private where(documentId: string): { cellId: string | null; kind: Kind | null } {
    for (const [cellId, docs] of Object.entries(this.cellDocs)) {
      for (const [kind, id] of Object.entries(docs)) if (id === documentId) return { cellId, kind: kind as Kind }
    }
    return { cellId: null, kind: null }
  }

  /** The live document of ``kind``; refused until its first sync has brought it. */
  doc(cellId: string, kind: Kind): Doc {
    const handle = this.handles.get(this.docId(cellId, kind))
    const doc = handle?.isReady() ? handle.doc() : undefined
    if (doc === undefined || A.getHeads(doc as A.Doc<unknown>).length === 0) {
      throw invalid(
        "not_synced_yet",
        "Chưa nhận dữ liệu chi bộ: cần đồng bộ lần đầu khi có mạng.",
        "Cell data not received yet: the first sync needs a connection.",
      )
    }
    return doc
  }

  /** A document as plain values (ImmutableString and Text both as strings). */
  read(cellId: string, kind: Kind): Plain {
    return plain(this.doc(cellId, kind))
  }

  // ---- writes ----------------------------------------------------------------------------

  private context(cellId: string): WriteContext {
    return {
      by: this.memberId,
      newId: randomId,
      now: () => new Date().toISOString().replace(/\.\d{3}Z$/, "+00:00"),
      read: kind => this.doc(cellId, kind),
    }
  }

  /** Check an operation against the schema and the server's two rules, on a copy of the
   * document; the mutation to make if every check passes. */
  private prepare(cellId: string, doc: Doc, name: string, args: Record<string, unknown>) {
    const def = operation(name)
    const mutation = def.run(doc, args, this.context(cellId))
    const before = plain(doc)
    const trial = A.change(A.clone(doc as A.Doc<Doc>), d => mutation(d as Doc))
    const after = plain(trial)
    let verdict = checkValues(def.kind, before, after)
    const roles = this.rolesOn(cellId)
    if (verdict.allowed && roles !== null) {
      verdict = checkWrite(def.kind, { memberId: this.memberId, roles }, before, after)
    }
    if (!verdict.allowed) throw new SotayError(verdict.rule, verdict.reasonVi, verdict.reasonEn, verdict.path.join("/"))
    return mutation
  }

  /** Make a write: ``name`` is a stable operation (``roster.add_member``), ``args`` its
   * arguments (``{cell_id, full_name, …}``). Returns the arguments as recorded (with the ids
   * the write made). A refusal throws a SotayError and changes nothing. */
  async write(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (!this.memberId) {
      throw invalid(
        "device_user_unknown",
        "Thiết bị chưa biết người dùng (mã đảng viên): không thể ghi.",
        "The device does not know its user (member id): cannot write.",
      )
    }
    if (this.held) throw new SotayError(DEVICE_HELD.rule, DEVICE_HELD.vi, DEVICE_HELD.en)
    const cellId = String(args.cell_id ?? "")
    const def = operation(name)
    const pinned = def.pin ? def.pin(args) : args
    const documentId = this.docId(cellId, def.kind)
    const handle = this.handles.get(documentId)
    const doc = this.doc(cellId, def.kind)
    const mutation = this.prepare(cellId, doc, name, pinned)
    handle!.change(d => mutation(d as Doc))
    const hashes = A.getHeads(handle!.doc() as A.Doc<unknown>)
    await this.store.addPending({ documentId, operation: name, args: pinned, hashes })
    this.pendingCount += 1
    await this.repo.flush([documentId as DocumentId])
    this.notifyDoc(documentId, "local")
    return pinned
  }

  // ---- after the server refused an edit --------------------------------------------------

  /** Go back to the server's state (``serverHeads``) and replay the pending writes still
   * allowed; the others become refusals. ``refusedRule`` set: the server refused again what
   * the local rules allowed, so nothing is replayed (every pending write is refused under it).
   * The new base, the writes still pending and the refusals are stored in one IndexedDB
   * transaction before the document is swapped, so a crash half-way finishes on the next open. */
  async resetDocument(documentId: string, serverHeads: string[], refusedRule?: { code: string; vi: string; en: string }): Promise<Refusal[]> {
    const handle = await this.handle(documentId)
    const { cellId } = this.where(documentId)
    const all = changes(handle.doc() as A.Doc<unknown>)
    const onServer = ancestry(all, serverHeads)
    const pending = await this.store.pending(documentId)
    const waiting = pending.filter(op => !op.hashes.every(h => onServer.has(h)))
    const dropped = descendants(all, new Set(waiting.flatMap(op => op.hashes).filter(h => !onServer.has(h))))
    let [base] = A.applyChanges(A.init<Doc>(), all.filter(c => !dropped.has(c.hash)).map(c => c.bytes))
    const replayed: PendingOp[] = []
    const refused: Refusal[] = []
    for (const op of waiting) {
      const refusal = (code: string, vi: string, en: string): Refusal => ({
        document_id: documentId,
        operation: op.operation,
        args: op.args,
        code,
        message_vi: vi,
        message_en: en,
      })
      if (refusedRule !== undefined) {
        refused.push(refusal(refusedRule.code, refusedRule.vi, refusedRule.en))
        continue
      }
      try {
        const mutation = this.prepare(cellId ?? "", base as Doc, op.operation, op.args)
        base = A.change(base!, d => mutation(d as Doc))
        replayed.push({ documentId, operation: op.operation, args: op.args, hashes: A.getHeads(base) })
      } catch (exc) {
        if (!(exc instanceof SotayError)) throw exc
        refused.push(refusal(exc.code, exc.messageVi, exc.messageEn))
      }
    }
    const bytes = A.save(base!)
    await this.store.commitReset(
      { documentId, bytes },
      pending.map(op => op.seq!),
      replayed,
      refused,
    )
    await this.applyReset(documentId, bytes)
    this.pendingCount = (await this.store.pending()).length
    this.notifyDoc(documentId, "local")
    return refused
  }

  /** Swap the stored document for the reset one (idempotent: run again after a crash). */
  private async applyReset(documentId: string, bytes: Uint8Array): Promise<void> {
    const id = documentId as DocumentId
    this.handles.delete(documentId)
    this.repo.delete(id)
    await this.repo.storageSubsystem?.removeDoc(id)
    const handle = this.repo.import<Doc>(bytes, { docId: id })
    handle.doneLoading()
    await this.repo.flush([id])
    this.watch(documentId, handle)
    await this.store.dropReset(documentId)
  }

  /** The server holds ``serverHeads``: the pending writes they contain are done. True when the
   * server and this device hold exactly the same changes. */
  async acknowledge(documentId: string, serverHeads: string[]): Promise<boolean> {
    const handle = await this.handle(documentId)
    const doc = handle.doc() as A.Doc<unknown>
    const pending = await this.store.pending(documentId)
    if (pending.length > 0) {
      const onServer = ancestry(changes(doc), serverHeads)
      const done = pending.filter(op => op.hashes.every(h => onServer.has(h)))
      await this.store.dropPending(done.map(op => op.seq!))
      this.pendingCount -= done.length
    }
    const mine = [...A.getHeads(doc)].sort()
    return JSON.stringify(mine) === JSON.stringify([...serverHeads].sort())
  }

  // ---- status, conflicts, refusals -------------------------------------------------------

  async status(): Promise<SyncStatus> {
    const uploads = await this.store.uploads()
    let conflicts = 0
    for (const cellId of Object.keys(this.cellDocs)) {
      try {
        conflicts += this.conflicts(cellId).length
      } catch {
        // not synced yet
      }
    }
    return {
      connected: this.connected,
      pendingChanges: this.pendingCount,
      lastSuccessfulSync: (await this.store.get<string>("last_successful_sync")) ?? null,
      lastError: this.lastError,
      pendingAttachments: uploads.filter(u => u.state === "to_upload").length,
      conflicts,
    }
  }

  async markSynced(): Promise<void> {
    this.lastError = null
    await this.store.set("last_successful_sync", new Date().toISOString())
    this.notify({ cellId: null, kind: null, origin: "status" })
  }

  conflicts(cellId: string): Conflict[] {
    const roster = this.cellDocs[cellId]?.roster ? this.read(cellId, "roster") : null
    const tasks = this.cellDocs[cellId]?.tasks ? this.read(cellId, "tasks") : null
    return cellConflicts(roster, tasks)
  }

  refusals(): Promise<Refusal[]> {
    return this.store.refusals()
  }

  // ---- subscriptions ---------------------------------------------------------------------

  subscribe(callback: (e: ChangeEvent) => void): () => void {
    this.listeners.add(callback)
    return () => this.listeners.delete(callback)
  }

  notify(event: ChangeEvent): void {
    for (const callback of [...this.listeners]) callback(event)
  }

  private notifyDoc(documentId: string, origin: "local" | "remote"): void {
    this.notify({ ...this.where(documentId), origin })
  }
}
