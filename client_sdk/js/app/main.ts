/** The offline web app: boots the SDK (automerge's wasm by URL, documents in IndexedDB), shows
 * enrolment to a new device, then the cell's screens; works with no network after the first
 * visit (the service worker keeps the app, IndexedDB the documents and the pending writes). */

import wasmUrl from "@automerge/automerge/automerge.wasm?url"
import { initializeWasm } from "@automerge/automerge/slim"
import { Repo } from "@automerge/automerge-repo/slim"
import { IndexedDBStorageAdapter } from "@automerge/automerge-repo-storage-indexeddb"
import { Api, type Enrolled } from "../src/sdk/api.js"
import { Handbook } from "../src/sdk/handbook.js"
import { Pictures } from "../src/sdk/pictures.js"
import { meetings } from "../src/sdk/readers.js"
import { DeviceKey } from "../src/sdk/identity.js"
import { DeviceStore, type Refusal } from "../src/sdk/store.js"
import { SyncClient } from "../src/sdk/sync.js"
import { explain, isSecretary, type AppContext } from "./context.js"
import { h } from "./dom.js"
import { getLang, setLang, t, type Key } from "./i18n.js"
import { enrolScreen } from "./views/enrol.js"
import { meetingsScreen } from "./views/meetings.js"
import { meScreen } from "./views/me.js"
import { problemsScreen } from "./views/problems.js"
import { rosterScreen } from "./views/roster.js"
import { statusLine } from "./views/status.js"
import { tasksScreen } from "./views/tasks.js"
import "./style.css"

type Tab = "roster" | "meetings" | "tasks" | "me" | "problems"

const root = document.getElementById("app")!
let tab: Tab | null = (sessionStorage.getItem("sotay.tab") as Tab | null) ?? null
let message: { text: string; kind: "info" | "error" } | null = null
let refusals: Refusal[] = []

function applyTextSize(): void {
  const size = Number(localStorage.getItem("sotay.textSize") ?? "20")
  document.documentElement.style.fontSize = `${size}px`
}

function chrome(ctx: AppContext | null, body: HTMLElement, status: HTMLElement | null, tabs: Tab[]): HTMLElement {
  const resize = (delta: number) => () => {
    const size = Math.min(32, Math.max(16, Number(localStorage.getItem("sotay.textSize") ?? "20") + delta))
    localStorage.setItem("sotay.textSize", String(size))
    applyTextSize()
  }
  return h(
    "div",
    { class: "shell" },
    h(
      "header",
      {},
      h("h1", {}, t("app_title")),
      h(
        "div",
        { class: "tools" },
        h("button", { onclick: resize(-2), "aria-label": t("text_smaller") }, "A−"),
        h("button", { onclick: resize(2), "aria-label": t("text_larger") }, "A+"),
        h("button", { lang: getLang() === "vi" ? "en" : "vi", onclick: () => (setLang(getLang() === "vi" ? "en" : "vi"), ctx ? ctx.render() : location.reload()) }, t("switch_lang")),
      ),
    ),
    status,
    message ? h("p", { class: `message ${message.kind}`, role: message.kind === "error" ? "alert" : "status" }, message.text) : null,
    tabs.length
      ? h(
          "nav",
          { "aria-label": t("app_title") },
          ...tabs.map(name =>
            h(
              "button",
              { class: "tab", "aria-current": name === tab ? "page" : undefined, onclick: () => ((tab = name), sessionStorage.setItem("sotay.tab", name), ctx?.render()) },
              t(`tab_${name}` as Key),
            ),
          ),
        )
      : null,
    h("main", {}, body),
  )
}

/** The app's first screen comes before the automerge wasm: a new phone enrols with the form
 * while the wasm (most of the download) arrives. Returns when the wasm is ready. */
async function boot(): Promise<void> {
  setLang(getLang())
  applyTextSize()
  const wasm = initializeWasm(wasmUrl)
  const store = await DeviceStore.open()
  const key = await DeviceKey.load(store)
  const api = new Api(location.origin)
  const deviceId = await store.get<string>("device_id")
  if (!deviceId) {
    const screen = enrolScreen(
      {
        api,
        key,
        say: (text, kind = "info") => {
          message = { text, kind }
          drawEnrol()
        },
      },
      async (enrolled: Enrolled) => {
        await store.set("device_id", enrolled.device_id)
        await store.set("cell_id", enrolled.cell_id)
        await store.set("member_id", enrolled.member_id)
        await wasm
        location.reload()
      },
    )
    const drawEnrol = () => root.replaceChildren(chrome(null, screen, null, []))
    drawEnrol()
    await wasm
    return
  }
  await wasm
  const repo = new Repo({ storage: new IndexedDBStorageAdapter("sotay-documents"), network: [] })
  const book = await Handbook.open(repo, store)
  const say = (text: string, kind: "info" | "error" = "info") => {
    message = { text, kind }
    void draw()
  }
  api.signInAs(deviceId, key)
  const sync = new SyncClient(book, api, {
    onRefusals: found => {
      if (found.length) say(found.map(r => (getLang() === "vi" ? r.message_vi : r.message_en)).join(" · "), "error")
    },
  })
  const pictures = new Pictures(store, api)
  const ctx: AppContext = {
    api,
    book,
    pictures,
    sync,
    key,
    cellId: (await store.get<string>("cell_id")) ?? Object.keys(book.cells())[0] ?? null,
    roles: new Set(),
    render: () => void draw(),
    say,
  }
  let drawing = false
  let again = false
  async function draw(): Promise<void> {
    if (drawing) {
      again = true
      return
    }
    drawing = true
    try {
      do {
        again = false
        await drawOnce()
      } while (again)
    } finally {
      drawing = false
    }
  }
  async function drawOnce(): Promise<void> {
    const cellId = ctx.cellId
    ctx.roles = cellId ? (book.rolesOn(cellId) ?? new Set()) : new Set()
    refusals = await book.refusals()
    const status = statusLine(await book.status(), navigator.onLine, refusals.length, book.held)
    const secretary = isSecretary(ctx)
    const tabs: Tab[] = secretary ? ["roster", "meetings", "tasks", "problems"] : ["me", "roster", "problems"]
    if (tab === null || !tabs.includes(tab)) tab = tabs[0]!
    let body: HTMLElement
    try {
      if (!cellId) throw new Error(t("not_synced_yet"))
      body =
        tab === "roster"
          ? rosterScreen(ctx, cellId)
          : tab === "meetings"
            ? meetingsScreen(ctx, cellId)
            : tab === "tasks"
              ? tasksScreen(ctx, cellId)
              : tab === "me"
                ? meScreen(ctx, cellId)
                : problemsScreen(ctx, cellId, refusals)
    } catch (exc) {
      body = h("p", { class: "muted" }, explain(exc))
    }
    // Someone typing in a form keeps what they typed: only the status line changes until the
    // field loses focus (a remote change must not wipe a half-written entry).
    const focused = document.activeElement
    const typing =
      (focused instanceof HTMLInputElement && focused.type !== "file" && focused.type !== "checkbox") ||
      focused instanceof HTMLTextAreaElement
    if (typing && root.contains(focused) && focused.closest("form")) {
      pendingRedraw = true
      document.getElementById("sync-status")?.replaceWith(status)
      return
    }
    pendingRedraw = false
    root.replaceChildren(chrome(ctx, body, status, tabs))
  }
  let pendingRedraw = false
  document.addEventListener("focusout", () => {
    if (pendingRedraw) setTimeout(() => void draw(), 0)
  })
  // The SDK's objects for a developer at the console (and for the browser tests): the same
  // checks run whoever calls them.
  Object.assign(globalThis, { sotay: { book, sync, api, pictures } })
  // Other phones' photos are kept while online, so the minutes can be looked at with no signal.
  const keepPictures = () => {
    const cellId = ctx.cellId
    if (!navigator.onLine || !cellId || !book.cells()[cellId]?.meetings) return
    try {
      void pictures.keepAll(cellId, meetings(book.read(cellId, "meetings")))
    } catch {
      // the meetings document is not loaded yet: the next change calls again
    }
  }
  book.subscribe(() => {
    void draw()
    keepPictures()
  })
  addEventListener("online", () => {
    void sync.start().then(keepPictures)
    void draw()
  })
  addEventListener("offline", () => {
    sync.disconnect()
    void draw()
  })
  await book.load().catch(() => undefined)
  await draw()
  if (navigator.onLine) await sync.start()
  keepPictures()
  await draw()
}

/** The worker keeps the app shell. Registered once the page is up: its copies then come from
 * the browser's cache instead of a second download over a slow link. */
function keepShell(): void {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(`${import.meta.env.BASE_URL}sw.js`, { scope: import.meta.env.BASE_URL }).catch(() => undefined)
  }
}

boot()
  .then(() => {
    document.documentElement.dataset.ready = "true" // the wasm is in: every screen can open
    keepShell()
  })
  .catch(exc => {
    root.replaceChildren(h("p", { role: "alert" }, explain(exc)))
  })
