// The JS SDK against the real server (started by tests/test_js_sdk.py): a member's device signs
// in with its key, syncs its cell, is refused locally what the server would refuse, and when its
// local rules are fooled (stale roles) the server's refusal resets it to the server's state,
// replays the write still allowed and records the refused one.

import { readFileSync } from "node:fs"
import { Repo } from "@automerge/automerge-repo/slim"
import { describe, expect, test } from "vitest"
import { Api } from "../../src/sdk/api.js"
import { Handbook } from "../../src/sdk/handbook.js"
import { DeviceKey } from "../../src/sdk/identity.js"
import { members } from "../../src/sdk/readers.js"
import { DeviceStore } from "../../src/sdk/store.js"
import { SyncClient } from "../../src/sdk/sync.js"
import { SotayError } from "../../src/rules/errors.js"

const SERVER = process.env.SOTAY_SERVER!
const demo = JSON.parse(readFileSync(process.env.SOTAY_DEMO!, "utf8"))

async function importPem(pem: string): Promise<CryptoKeyPair> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64")
  const privateKey = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"])
  // The public half, from the private key's JWK (importing extractable once, in the test only).
  const jwk = await crypto.subtle.exportKey(
    "jwk",
    await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]),
  )
  const publicKey = await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x! }, { name: "Ed25519" }, true, ["verify"])
  return { privateKey, publicKey }
}

async function device(role: string, name: string) {
  const d = demo.devices.find((x: any) => x.role === role)
  const store = await DeviceStore.open(`${name}-${Math.random()}`)
  const key = await DeviceKey.fromPair(store, await importPem(d.private_key_pem))
  const api = new Api(SERVER)
  api.signInAs(d.device_id, key)
  const repo = new Repo({ network: [] })
  const book = await Handbook.open(repo, store)
  await book.setUser(d.member_id)
  const refusals: unknown[] = []
  const sync = new SyncClient(book, api, { pollMs: 300, onRefusals: r => refusals.push(...r) })
  await sync.start()
  return { d, book, sync, refusals, cell: d.unit_id as string }
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return
    await new Promise(r => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe("the JS SDK on the real server", () => {
  test("a member is refused locally with the server's code, and writes their own phone", async () => {
    const { d, book, sync, cell } = await device("member", "member")
    await until("the roster", () => {
      try {
        return members(book.read(cell, "roster")).length > 0
      } catch {
        return false
      }
    })
    const other = members(book.read(cell, "roster")).find(m => m.member_id !== d.member_id)!
    const refused = await book.write("roster.update_member", { cell_id: cell, member_id: other.member_id, full_name: "Tên giả" }).catch(e => e)
    expect(refused).toBeInstanceOf(SotayError)
    expect((refused as SotayError).code).toBe("roster_secretary_only")
    const tasks = await book.write("tasks.assign", { cell_id: cell, title: "Việc", assignee: d.member_id }).catch(e => e)
    expect((tasks as SotayError).code).toBe("task_assignee_only")
    await book.write("roster.update_member", { cell_id: cell, member_id: d.member_id, phone: "0911 222 333" })
    await until("the server has the phone", async () => (await book.status()).pendingChanges === 0)
    expect((await book.status()).lastSuccessfulSync).not.toBeNull()
    sync.stop()
  })

  test("fooled local rules: the server refuses, the device resets and replays what is allowed", async () => {
    const { d, book, sync, refusals, cell } = await device("member", "fooled")
    await until("the roster", () => {
      try {
        return members(book.read(cell, "roster")).length > 0
      } catch {
        return false
      }
    })
    const other = members(book.read(cell, "roster")).find(m => m.member_id !== d.member_id)!
    await book.setAccess({ [cell]: ["cell_secretary"] }) // stale roles: the local check passes
    await book.write("roster.update_member", { cell_id: cell, member_id: other.member_id, full_name: "Tên giả mạo" })
    await book.write("roster.update_member", { cell_id: cell, member_id: d.member_id, phone: "0944 555 666" })
    await until("the refusal", () => refusals.length > 0, 20_000)
    expect(refusals).toEqual([
      expect.objectContaining({ operation: "roster.update_member", code: "roster_secretary_only" }),
    ])
    expect((await book.refusals()).map(r => r.code)).toContain("roster_secretary_only")
    await until("the replayed phone on the server", async () => (await book.status()).pendingChanges === 0, 20_000).catch(async e => {
      const id = book.cells()[cell]!.roster!
      const handle = await book.handle(id)
      console.log("DEBUG", await book.status(), await sync.api.serverHeads(id), (await import("@automerge/automerge/slim")).getHeads(handle.doc() as any), await book.store.pending(), book.connected)
      throw e
    })
    const roster = members(book.read(cell, "roster"))
    expect(roster.find(m => m.member_id === other.member_id)!.full_name).toBe(other.full_name)
    expect(roster.find(m => m.member_id === d.member_id)!.phone).toBe("0944 555 666")
    process.stdout.write(`RESULT ${JSON.stringify({ cell, other: other.member_id, name: other.full_name, me: d.member_id })}\n`)
    sync.stop()
  })
})
