#!/usr/bin/env node
// A stock automerge-repo 2.5 client, driven by tests/test_interop_js.py.
//
// Each sub-command prints its result as ONE JSON line on stdout (`watch` first prints a
// {"ready": true} line) and exits 0; on any failure it prints {"error": ...} and exits 1.
// Every wait is bounded by a hard timeout that kills the process (SOTAY_INTEROP_TIMEOUT_MS).
//
//   node client.mjs create         <wsUrl> <httpUrl>
//   node client.mjs find           <wsUrl> <automergeUrl>
//   node client.mjs watch          <wsUrl> <automergeUrl> <path> <expectedValue>
//   node client.mjs unavailable    <wsUrl> <automergeUrl>
//   node client.mjs forbidden-edit <wsUrl> <automergeUrl> <memberId> <value>
//   node client.mjs invalid-edit <wsUrl> <automergeUrl> <memberId> <field> <value>
//   node client.mjs edit           <wsUrl> <httpUrl> <automergeUrl> <path> <value>
//
// <wsUrl> carries the device token as the server wants it (`ws://host:port/sync?token=...`):
// the stock WebSocketClientAdapter takes the full URL, and browsers cannot set headers anyway.
// HTTP calls (`create`) send the same token as a bearer token. <path> is dot-separated
// ("members.c-dv-pb-2-m03.ghi_chu"). No storage adapter: the server is the only place a
// document can come from.

import { performance } from "node:perf_hooks"
import {
  ImmutableString,
  Repo,
  cbor,
  decodeHeads,
  isImmutableString,
} from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"

const TIMEOUT_MS = Number(process.env.SOTAY_INTEROP_TIMEOUT_MS || 15000)
const POLL_MS = 50

// performance.now() counts from the start of the process.
const now = () => performance.now()
const round = ms => Math.round(ms * 10) / 10

// Automerge gives `uint` scalars (e.g. the server's schema_version) to JS as BigInt, which
// JSON.stringify refuses; print them as numbers (as strings if beyond 2^53).
const toJson = obj =>
  JSON.stringify(obj, (_key, value) =>
    typeof value === "bigint"
      ? Number.isSafeInteger(Number(value))
        ? Number(value)
        : value.toString()
      : value
  )

function emit(obj) {
  process.stdout.write(toJson(obj) + "\n")
}

function fail(message, extra = {}) {
  process.stdout.write(
    toJson({ error: String(message), ...extra }) + "\n",
    () => process.exit(1)
  )
  // If the write callback never comes, still go.
  setTimeout(() => process.exit(1), 500).unref()
}

function done(obj) {
  process.stdout.write(toJson(obj) + "\n", () => process.exit(0))
  setTimeout(() => process.exit(0), 500).unref()
}

process.on("uncaughtException", e => fail(`uncaught: ${e?.stack || e}`))
process.on("unhandledRejection", e => fail(`unhandled rejection: ${e?.stack || e}`))

// The hard timeout: whatever is pending, the process ends.
// `progress` says what the command was waiting for, to make a timeout diagnosable.
const progress = {}
setTimeout(() => fail(`timeout after ${TIMEOUT_MS} ms`, { timeout: true, progress }), TIMEOUT_MS)

/** A repo with one websocket adapter, and the time (ms since start) the server peer appeared. */
function openRepo(wsUrl) {
  const adapter = new WebSocketClientAdapter(wsUrl)
  const repo = new Repo({ network: [adapter] })
  const connected = new Promise(resolve => {
    repo.networkSubsystem.on("peer", ({ peerId }) => resolve({ peerId, at: now() }))
  })
  return { repo, adapter, connected }
}

async function shutdown(repo) {
  try {
    await repo.shutdown()
  } catch {
    // best effort: the process exits right after anyway
  }
}

// Automerge 3 gives scalar strings (what the Python side writes) to JS as ImmutableString
// objects and collaborative text as plain strings; compare both by their content.
const plain = value => (isImmutableString(value) ? value.toString() : value)
const typeName = value => (isImmutableString(value) ? "ImmutableString" : typeof value)

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

// The token the server gave this device, taken from the websocket URL.
const tokenOf = wsUrl => new URL(wsUrl).searchParams.get("token")

async function serverHeads(httpUrl, documentId, token) {
  const resp = await fetch(`${httpUrl}/api/documents/${documentId}`, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  })
  if (resp.status === 404) return null
  if (!resp.ok) throw new Error(`GET document state: HTTP ${resp.status}`)
  const body = await resp.json()
  return body.heads
}

const sameHeads = (a, b) =>
  Array.isArray(a) &&
  Array.isArray(b) &&
  a.length === b.length &&
  [...a].sort().every((h, i) => h === [...b].sort()[i])

// ---- sub-commands -----------------------------------------------------------------------

async function create(wsUrl, httpUrl) {
  const { repo, connected } = openRepo(wsUrl)
  progress.waiting = "server peer"
  await connected
  progress.waiting = "server heads == local heads"
  const handle = repo.create()
  handle.change(d => {
    d.title = "Biên bản họp chi bộ"
    d.count = 1
  })
  handle.change(d => {
    d.count = 2
  })
  // handle.heads() are base58 "URL heads"; decodeHeads gives the hex change hashes the server
  // reports (the same values as Automerge.getHeads(handle.doc())).
  const local = decodeHeads(handle.heads())
  let remote = null
  while (!sameHeads(remote, local)) {
    await sleep(POLL_MS)
    remote = await serverHeads(httpUrl, handle.documentId, tokenOf(wsUrl))
    Object.assign(progress, { documentId: handle.documentId, localHeads: local, serverHeads: remote })
  }
  await shutdown(repo)
  done({ url: handle.url, documentId: handle.documentId, heads: local })
}

async function find(wsUrl, url) {
  const { repo } = openRepo(wsUrl)
  const handle = await repo.find(url)
  const doc = handle.doc()
  const heads = decodeHeads(handle.heads())
  await shutdown(repo)
  done({ doc, heads })
}

const at = (doc, path) => path.reduce((obj, key) => (obj == null ? undefined : obj[key]), doc)

async function watch(wsUrl, url, dotted, expected) {
  const path = dotted.split(".")
  const { repo } = openRepo(wsUrl)
  progress.waiting = "find"
  const handle = await repo.find(url)
  const readyAt = now()
  progress.waiting = `doc.${dotted} === ${JSON.stringify(expected)}`
  emit({ ready: true, heads: decodeHeads(handle.heads()) })
  await new Promise(resolve => {
    const check = doc => {
      progress.lastValue = at(doc, path)
      if (doc && plain(at(doc, path)) === expected) {
        handle.off("change", onChange)
        resolve()
      }
    }
    const onChange = ({ doc }) => check(doc)
    handle.on("change", onChange)
    check(handle.doc())
  })
  const ms = now() - readyAt
  const seenAt = Date.now() // wall clock, for a writer in another process to compare with
  await shutdown(repo)
  const value = at(handle.doc(), path)
  done({ seen: plain(value), type: typeName(value), ms: round(ms), seen_at_ms: seenAt })
}

async function unavailable(wsUrl, url) {
  const { repo, connected } = openRepo(wsUrl)
  const peer = await connected
  const findAt = now()
  let outcome
  try {
    const handle = await repo.find(url)
    outcome = { found: true, state: handle.state }
  } catch (e) {
    outcome = { error: String(e?.message || e) }
  }
  const end = now()
  await shutdown(repo)
  if (outcome.found || !/unavailable/i.test(outcome.error)) {
    fail(`expected the document to be unavailable, got ${JSON.stringify(outcome)}`)
    return
  }
  done({
    unavailable: true,
    message: outcome.error,
    ms: round(end - peer.at), // from the server's "peer" reply (websocket connected and joined)
    msFromFind: round(end - findAt),
    msFromStart: round(end),
    connectedAtMs: round(peer.at),
  })
}

/**
 * Count the frames an adapter exchanges, both ways, with each one's message type.
 * Outgoing: every `send` (join included). Incoming: every frame the socket delivers, as the
 * adapter's socket listener hands each one to `receiveMessage` (peer and error included).
 */
function countFrames(adapter) {
  const frames = []
  const send = adapter.send.bind(adapter)
  adapter.send = message => {
    frames.push({ at: now(), dir: "sent", type: message?.type })
    return send(message)
  }
  const receive = adapter.receiveMessage.bind(adapter)
  adapter.receiveMessage = bytes => {
    let type = "undecodable"
    try {
      type = cbor.decode(new Uint8Array(bytes))?.type
    } catch {
      // counted all the same
    }
    frames.push({ at: now(), dir: "received", type })
    return receive(bytes)
  }
  return frames
}

const WINDOW_MS = Number(process.env.SOTAY_INTEROP_WINDOW_MS || 5000)

// A change the server must refuse (a member rewriting another member's roster record), then
// WINDOW_MS of watching what goes over the wire while the stock client lives with the refusal.
async function forbiddenEdit(wsUrl, url, memberId, value, field = "full_name") {
  const { repo, adapter } = openRepo(wsUrl)
  const frames = countFrames(adapter)
  progress.waiting = "find"
  const handle = await repo.find(url)
  const notices = []
  handle.on("ephemeral-message", ({ senderId, message }) => {
    notices.push({ senderId, message, at: now() })
  })
  const before = plain(at(handle.doc(), ["members", memberId, field]))
  if (typeof before !== "string") {
    fail(`no member ${memberId} with a ${field} in ${url}`)
    return
  }
  const headsBefore = decodeHeads(handle.heads())
  const start = now()
  progress.waiting = `${WINDOW_MS} ms after the edit`
  handle.change(d => {
    d.members[memberId][field] = value
  })
  await sleep(WINDOW_MS)
  const after = frames.filter(f => f.at >= start)
  const types = {}
  for (const f of after) {
    const key = `${f.dir}:${f.type}`
    types[key] = (types[key] || 0) + 1
  }
  const local = plain(at(handle.doc(), ["members", memberId, field]))
  await shutdown(repo)
  done({
    notice: notices.length ? notices[0].message : null,
    notice_sender: notices.length ? notices[0].senderId : null,
    notice_ms: notices.length ? round(notices[0].at - start) : null,
    notices: notices.length,
    frames_after: after.length,
    frames_sent_after: after.filter(f => f.dir === "sent").length,
    frames_received_after: after.filter(f => f.dir === "received").length,
    types_after: types,
    frames_total: frames.length,
    window_ms: WINDOW_MS,
    before,
    local_value: local, // a stock client keeps its own edit; only the server refuses it
    heads_before: headsBefore,
  })
}

// Set <path> (dot-separated; its parent must exist) to the scalar string <value>, say when
// (wall clock, ms: the watcher on another process compares with its own), then stay until the
// server reports heads that include the edit.
async function edit(wsUrl, httpUrl, url, dotted, value) {
  const path = dotted.split(".")
  const { repo } = openRepo(wsUrl)
  progress.waiting = "find"
  const handle = await repo.find(url)
  const parent = at(handle.doc(), path.slice(0, -1))
  if (parent == null || typeof parent !== "object") {
    fail(`no ${path.slice(0, -1).join(".")} in ${url}`)
    return
  }
  const editedAt = Date.now()
  handle.change(d => {
    at(d, path.slice(0, -1))[path.at(-1)] = new ImmutableString(value)
  })
  const local = decodeHeads(handle.heads())
  progress.waiting = "server heads == local heads"
  let remote = null
  while (!sameHeads(remote, local)) {
    await sleep(POLL_MS)
    remote = await serverHeads(httpUrl, handle.documentId, tokenOf(wsUrl))
    Object.assign(progress, { localHeads: local, serverHeads: remote })
  }
  const ackedAt = Date.now()
  await shutdown(repo)
  done({ edited_at_ms: editedAt, acked_ms: ackedAt - editedAt, heads: local })
}

// ---- main -------------------------------------------------------------------------------

const commands = {
  create: [create, 2],
  find: [find, 2],
  watch: [watch, 4],
  unavailable: [unavailable, 2],
  "forbidden-edit": [forbiddenEdit, 4],
  // A write the permissions allow but the schema does not: <field> of a member set to <value>.
  "invalid-edit": [(ws, url, member, field, value) => forbiddenEdit(ws, url, member, value, field), 5],
  edit: [edit, 5],
}

const [name, ...args] = process.argv.slice(2)
const command = commands[name]
if (!command || args.length !== command[1]) {
  fail(`usage: client.mjs ${Object.keys(commands).join("|")} <args> (got ${JSON.stringify(process.argv.slice(2))})`)
} else {
  command[0](...args).catch(e => fail(e?.stack || e))
}
