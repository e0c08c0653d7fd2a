// The Handbook without a server: writes checked before they are made, pending writes kept as
// operations, a write whose change was lost (the tab closed before automerge-repo stored it)
// made again on the next start.

import * as A from "@automerge/automerge/slim"
import { Repo, type DocumentId } from "@automerge/automerge-repo/slim"
import { describe, expect, test } from "vitest"
import { Handbook } from "../../src/sdk/handbook.js"
import { members } from "../../src/sdk/readers.js"
import { DeviceStore } from "../../src/sdk/store.js"
import { SotayError } from "../../src/rules/errors.js"

const CELL = "c-test"

function roster(): Uint8Array {
  const doc = A.change(A.init<any>(), d => {
    d.schema_version = 2
    d.kind = new A.ImmutableString("roster")
    d.cell_id = new A.ImmutableString(CELL)
    d.members = {}
    d.positions = {}
    d.transfers = {}
  })
  return A.save(doc)
}

async function device(store: DeviceStore, bytes: Uint8Array, documentId?: string) {
  const repo = new Repo({ network: [] })
  const handle = documentId ? repo.import<any>(bytes, { docId: documentId as DocumentId }) : repo.import<any>(bytes)
  if (documentId) handle.doneLoading()
  const book = await Handbook.open(repo, store)
  await book.setUser("m1")
  await book.addCell(CELL, { roster: handle.documentId })
  await book.setAccess({ [CELL]: ["cell_secretary"] })
  await book.load()
  return { book, handle }
}

describe("Handbook", () => {
  test("refuses before writing, keeps writes as operations, and makes a lost one again", async () => {
    const store = await DeviceStore.open(`book-${Math.random()}`)
    const base = roster()
    const { book, handle } = await device(store, base)
    const refused = await book.write("roster.add_member", { cell_id: CELL, full_name: "An", status: "deceased" }).catch(e => e)
    expect(refused).toBeInstanceOf(SotayError)
    expect((refused as SotayError).code).toBe("bad_initial_status")
    expect(await store.pending()).toHaveLength(0)
    const args = await book.write("roster.add_member", { cell_id: CELL, full_name: "  Hà  Văn   An ", card_number: "19.123456" })
    expect(args.member_id).toMatch(/^m-[0-9a-f]{12}$/)
    const [op] = await store.pending()
    expect(op).toMatchObject({ operation: "roster.add_member", args: { full_name: "  Hà  Văn   An " } })
    expect(members(book.read(CELL, "roster")).map(m => m.full_name)).toEqual(["Hà Văn An"])
    expect((await book.status()).pendingChanges).toBe(1)

    // The tab closed after the write's record was stored and before its change was: the next
    // start finds the document without it, and makes it again with the same member id.
    const again = await device(store, base, handle.documentId)
    const restored = members(again.book.read(CELL, "roster"))
    expect(restored.map(m => [m.member_id, m.full_name, m.card_number])).toEqual([[args.member_id, "Hà Văn An", "19.123456"]])
    const [kept] = await store.pending()
    expect(kept!.seq).toBe(op!.seq)
    expect(kept!.hashes).toEqual(A.getHeads(again.handle.doc() as A.Doc<unknown>))
  })
})
