/** The device's own IndexedDB database (the documents themselves live in automerge-repo's
 * IndexedDB storage): its key, who uses it, the cells it carries, writes waiting for the server,
 * refusals, attachment bytes to upload, the small copies of other phones' photos, and an
 * unfinished reset. */

export interface PendingOp {
  seq?: number
  documentId: string
  operation: string
  args: Record<string, unknown>
  hashes: string[]
}

export interface Refusal {
  document_id: string
  operation: string
  args: Record<string, unknown>
  code: string
  message_vi: string
  message_en: string
}

export interface ResetRecord {
  documentId: string
  bytes: Uint8Array
}

export interface Upload {
  sha256: string
  cellId: string
  mimeType: string
  bytes: Uint8Array
  state: "to_upload" | "uploaded" | "refused"
}

/** A picture kept for showing offline: the server's small copy of a photo another phone took. */
export interface KeptPicture {
  sha256: string
  mimeType: string
  bytes: Uint8Array
}

const STORES = ["meta", "pending", "refusals", "resets", "uploads", "pictures"] as const
type StoreName = (typeof STORES)[number]

function done(request: IDBRequest): Promise<unknown> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
}

function finished(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve()
    tx.onerror = () => reject(tx.error)
    tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"))
  })
}

export class DeviceStore {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(name = "sotay-device"): Promise<DeviceStore> {
    // Version 2 added the kept pictures; a device of version 1 keeps everything it had.
    const request = indexedDB.open(name, 2)
    request.onupgradeneeded = event => {
      const db = request.result
      if (event.oldVersion < 1) {
        db.createObjectStore("meta")
        db.createObjectStore("pending", { keyPath: "seq", autoIncrement: true })
        db.createObjectStore("refusals", { autoIncrement: true })
        db.createObjectStore("resets", { keyPath: "documentId" })
        db.createObjectStore("uploads", { keyPath: ["sha256", "cellId"] })
      }
      if (event.oldVersion < 2) db.createObjectStore("pictures", { keyPath: "sha256" })
    }
    return new DeviceStore((await done(request)) as IDBDatabase)
  }

  close(): void {
    this.db.close()
  }

  private tx(stores: StoreName[], mode: IDBTransactionMode): IDBTransaction {
    return this.db.transaction(stores, mode)
  }

  async get<T>(key: string): Promise<T | undefined> {
    return (await done(this.tx(["meta"], "readonly").objectStore("meta").get(key))) as T | undefined
  }

  async set(key: string, value: unknown): Promise<void> {
    const tx = this.tx(["meta"], "readwrite")
    tx.objectStore("meta").put(value, key)
    await finished(tx)
  }

  async addPending(op: PendingOp): Promise<void> {
    const tx = this.tx(["pending"], "readwrite")
    tx.objectStore("pending").add(op)
    await finished(tx)
  }

  async pending(documentId?: string): Promise<PendingOp[]> {
    const all = (await done(this.tx(["pending"], "readonly").objectStore("pending").getAll())) as PendingOp[]
    return documentId === undefined ? all : all.filter(op => op.documentId === documentId)
  }

  /** The same write, in its place, with new change hashes (made again after a crash). */
  async replacePending(op: PendingOp): Promise<void> {
    const tx = this.tx(["pending"], "readwrite")
    tx.objectStore("pending").put(op)
    await finished(tx)
  }

  /** A pending write that can no longer be made becomes a refusal, in one transaction. */
  async refusePending(seq: number, refusal: Refusal): Promise<void> {
    const tx = this.tx(["pending", "refusals"], "readwrite")
    tx.objectStore("pending").delete(seq)
    tx.objectStore("refusals").add(refusal)
    await finished(tx)
  }

  async dropPending(seqs: number[]): Promise<void> {
    if (seqs.length === 0) return
    const tx = this.tx(["pending"], "readwrite")
    for (const seq of seqs) tx.objectStore("pending").delete(seq)
    await finished(tx)
  }

  /** A reset, whole or not at all: the new base, the writes still pending (with their new
   * hashes) and the refusals, in one transaction. */
  async commitReset(reset: ResetRecord, replaced: number[], pending: PendingOp[], refusals: Refusal[]): Promise<void> {
    const tx = this.tx(["resets", "pending", "refusals"], "readwrite")
    tx.objectStore("resets").put(reset)
    for (const seq of replaced) tx.objectStore("pending").delete(seq)
    for (const op of pending) tx.objectStore("pending").add(op)
    for (const refusal of refusals) tx.objectStore("refusals").add(refusal)
    await finished(tx)
  }

  async resets(): Promise<ResetRecord[]> {
    return (await done(this.tx(["resets"], "readonly").objectStore("resets").getAll())) as ResetRecord[]
  }

  async dropReset(documentId: string): Promise<void> {
    const tx = this.tx(["resets"], "readwrite")
    tx.objectStore("resets").delete(documentId)
    await finished(tx)
  }

  async refusals(): Promise<Refusal[]> {
    return (await done(this.tx(["refusals"], "readonly").objectStore("refusals").getAll())) as Refusal[]
  }

  async putUpload(upload: Upload): Promise<void> {
    const tx = this.tx(["uploads"], "readwrite")
    tx.objectStore("uploads").put(upload)
    await finished(tx)
  }

  /** One file added on this device, whatever its upload state (the bytes stay here). */
  async upload(sha256: string, cellId: string): Promise<Upload | undefined> {
    return (await done(this.tx(["uploads"], "readonly").objectStore("uploads").get([sha256, cellId]))) as Upload | undefined
  }

  async putPicture(picture: KeptPicture): Promise<void> {
    const tx = this.tx(["pictures"], "readwrite")
    tx.objectStore("pictures").put(picture)
    await finished(tx)
  }

  async picture(sha256: string): Promise<KeptPicture | undefined> {
    return (await done(this.tx(["pictures"], "readonly").objectStore("pictures").get(sha256))) as KeptPicture | undefined
  }

  async uploads(): Promise<Upload[]> {
    return (await done(this.tx(["uploads"], "readonly").objectStore("uploads").getAll())) as Upload[]
  }
}
