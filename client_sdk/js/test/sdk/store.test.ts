// The device's own database across a version change: a phone that ran the first version keeps
// its pending writes and uploads, and gains the store of kept pictures.

import { describe, expect, test } from "vitest"
import { DeviceStore } from "../../src/sdk/store.js"

function openV1(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 1)
    request.onupgradeneeded = () => {
      const db = request.result
      db.createObjectStore("meta")
      db.createObjectStore("pending", { keyPath: "seq", autoIncrement: true })
      db.createObjectStore("refusals", { autoIncrement: true })
      db.createObjectStore("resets", { keyPath: "documentId" })
      db.createObjectStore("uploads", { keyPath: ["sha256", "cellId"] })
    }
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
}

function put(db: IDBDatabase, store: string, value: unknown, key?: IDBValidKey): Promise<void> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction([store], "readwrite")
    tx.objectStore(store).put(value, key)
    tx.oncomplete = () => resolve()
    tx.onerror = () => reject(tx.error)
  })
}

describe("device store", () => {
  test("a version 1 database keeps what it held and gains the kept pictures", async () => {
    const name = `upgrade-${Math.random()}`
    const old = await openV1(name)
    await put(old, "meta", "m-01", "member_id")
    await put(old, "pending", { documentId: "d1", operation: "roster.add_member", args: {}, hashes: [] })
    const bytes = new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3])
    await put(old, "uploads", { sha256: "a".repeat(64), cellId: "c1", mimeType: "image/jpeg", bytes, state: "to_upload" })
    old.close()

    const store = await DeviceStore.open(name)
    expect(await store.get("member_id")).toBe("m-01")
    expect((await store.pending()).map(op => op.operation)).toEqual(["roster.add_member"])
    expect((await store.upload("a".repeat(64), "c1"))?.state).toBe("to_upload")
    expect(await store.picture("b".repeat(64))).toBeUndefined()
    await store.putPicture({ sha256: "b".repeat(64), mimeType: "image/jpeg", bytes })
    expect(Array.from((await store.picture("b".repeat(64)))!.bytes)).toEqual(Array.from(bytes))
    store.close()
  })
})
