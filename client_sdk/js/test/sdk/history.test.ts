// What a reset keeps: every change the server's heads contain, none of the device's own
// unacknowledged changes or what was built on them.

import * as A from "@automerge/automerge/slim"
import { describe, expect, test } from "vitest"
import { ancestry, changes, descendants } from "../../src/sdk/history.js"

describe("change history", () => {
  test("ancestry and descendants split a document at the server's heads", () => {
    let doc = A.from<{ n: number[] }>({ n: [] })
    doc = A.change(doc, d => void d.n.push(1))
    const server = A.getHeads(doc)
    doc = A.change(doc, d => void d.n.push(2))
    const mine = A.getHeads(doc)
    doc = A.change(doc, d => void d.n.push(3))
    const all = changes(doc)
    const onServer = ancestry(all, server)
    expect(onServer.size).toBe(2)
    const dropped = descendants(all, new Set(mine))
    expect(dropped.size).toBe(2)
    const [base] = A.applyChanges(A.init<{ n: number[] }>(), all.filter(c => !dropped.has(c.hash)).map(c => c.bytes))
    expect(base!.n).toEqual([1])
    expect(ancestry(all, ["00".repeat(32)]).size).toBe(0) // heads unknown here count for nothing
  })
})
