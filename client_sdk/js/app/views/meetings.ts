/** Meetings: schedule, attendance, minutes as text, resolutions, and a photo of the handwritten
 * minutes (cleaned on the phone, uploaded after the meeting has synced). */

import { meetings, members, type Meeting } from "../../src/sdk/readers.js"
import { ATTENDANCE, MEETING_KINDS } from "../../src/rules/schema.js"
import { field, h, select } from "../dom.js"
import { code, t } from "../i18n.js"
import { attempt, explain, isSecretary, saveOrCancel, writeForm, type AppContext } from "../context.js"
import { cleanPhoto, textSplice } from "../photo.js"
import { isPicture } from "../../src/sdk/pictures.js"
import { studyPanel } from "./study.js"

let openMeeting: string | null = null
let scheduling = false

function scheduleForm(ctx: AppContext, cellId: string): HTMLElement {
  let created = ""
  return writeForm(
    ctx,
    { class: "card", "aria-label": t("schedule") },
    async v => {
      const args = await ctx.book.write("meetings.schedule", { cell_id: cellId, date: v.date, kind: v.kind, agenda: v.agenda ?? "" })
      created = String(args.meeting_id)
    },
    () => {
      scheduling = false
      openMeeting = created
    },
    field(t("date"), h("input", { name: "date", type: "date", required: true })),
    field(t("kind"), select("kind", MEETING_KINDS.map(k => [k, code("meeting_kind", k)] as [string, string]))),
    field(t("agenda"), h("textarea", { name: "agenda", rows: 3 })),
    saveOrCancel(ctx, () => (scheduling = false)),
  )
}

async function attachPhoto(ctx: AppContext, cellId: string, meetingId: string, file: File): Promise<void> {
  const photo = await cleanPhoto(file)
  await ctx.book.store.putUpload({ sha256: photo.sha256, cellId, mimeType: photo.mimeType, bytes: photo.bytes, state: "to_upload" })
  await ctx.book.write("meetings.add_attachment", {
    cell_id: cellId,
    meeting_id: meetingId,
    sha256: photo.sha256,
    name: file.name || "bien-ban.jpg",
    mime_type: photo.mimeType,
    size: photo.bytes.length,
  })
}

function detail(ctx: AppContext, cellId: string, m: Meeting, secretary: boolean): HTMLElement {
  const people = members(ctx.book.read(cellId, "roster")).filter(p => p.status === "probationary" || p.status === "full")
  const attendance = h(
    "fieldset",
    {},
    h("legend", {}, t("attendance")),
    ...people.map(p => {
      const choice = select("attendance", [["", "—"], ...ATTENDANCE.map(a => [a, code("attendance", a)] as [string, string])], m.attendance[p.member_id] ?? "")
      choice.disabled = !secretary
      choice.addEventListener("change", () =>
        void attempt(ctx, () => ctx.book.write("meetings.record_attendance", { cell_id: cellId, meeting_id: m.meeting_id, member_id: p.member_id, value: choice.value })),
      )
      return field(p.full_name, choice)
    }),
  )
  const minutes = h("textarea", { name: "minutes", rows: 8, readonly: !secretary }) as HTMLTextAreaElement
  minutes.value = m.minutes
  const minutesForm = h(
    "form",
    {
      "aria-label": t("minutes"),
      onsubmit: async (e: Event) => {
        e.preventDefault()
        const splice = textSplice(m.minutes, minutes.value)
        if (splice) await attempt(ctx, () => ctx.book.write("meetings.edit_minutes", { cell_id: cellId, meeting_id: m.meeting_id, ...splice }), t("saved"))
      },
    },
    field(t("minutes"), minutes),
    secretary ? h("button", { type: "submit", class: "primary" }, t("save_minutes")) : null,
  )
  const resolutionForm = writeForm(
    ctx,
    { "aria-label": t("add_resolution") },
    v =>
      ctx.book.write("meetings.add_resolution", {
        cell_id: cellId,
        meeting_id: m.meeting_id,
        title: v.title,
        number: v.number || undefined,
        studied_date: v.studied_date || undefined,
      }),
    null,
    field(t("title"), h("input", { name: "title", required: true })),
    field(t("number"), h("input", { name: "number" })),
    field(t("studied_date"), h("input", { name: "studied_date", type: "date" })),
    h("button", { type: "submit" }, t("add_resolution")),
  )
  const photo = h("input", { type: "file", accept: "image/*", capture: "environment", name: "photo" }) as HTMLInputElement
  photo.addEventListener("change", () => {
    const file = photo.files?.[0]
    if (file) void attachPhoto(ctx, cellId, m.meeting_id, file).then(() => (ctx.say(t("saved")), ctx.render()), e => ctx.say(explain(e), "error"))
  })
  return h(
    "div",
    { class: "detail" },
    m.agenda ? h("p", {}, m.agenda) : null,
    attendance,
    minutesForm,
    h("h4", {}, t("resolutions")),
    h(
      "ul",
      { class: "list", "aria-label": t("resolutions") },
      ...m.resolutions.map(r =>
        h(
          "li",
          {},
          `${r.number ? `${r.number} — ` : ""}${r.title}${r.studied_date ? ` (${r.studied_date})` : ""}`,
          h("span", { class: "muted" }, ` · ${r.studied_by.length} ${t("studied")}`),
          studyPanel(ctx, cellId, m, r, people, secretary),
        ),
      ),
    ),
    secretary ? resolutionForm : null,
    h("h4", {}, t("attachments")),
    h("ul", { class: "list attachments", "aria-label": t("attachments") }, ...m.attachments.map(a => attachmentItem(ctx, cellId, a))),
    secretary ? field(t("photo_minutes"), photo) : null,
  )
}

/** Pictures already turned into object URLs this page's life: the screen is drawn again on
 * every change, and a thumbnail must not be fetched each time. */
const objectUrls = new Map<string, string>()

/** A file of the meeting; a photo shows as a picture: this phone's own copy when it was taken
 * here, else the server's small copy, kept on the phone once fetched (offline too). */
function attachmentItem(ctx: AppContext, cellId: string, a: Meeting["attachments"][number]): HTMLElement {
  const caption = h("span", {}, `${a.name} (${Math.ceil(a.size / 1024)} KB)`)
  if (!isPicture(a)) return h("li", {}, caption)
  const img = h("img", { alt: `${t("photo_of")} ${a.name}`, hidden: true }) as HTMLImageElement
  const show = (url: string | null) => {
    if (url) (img.src = url), (img.hidden = false)
  }
  const known = objectUrls.get(a.sha256)
  if (known) show(known)
  else void picture(ctx, cellId, a.sha256).then(show, () => undefined)
  return h("li", { class: "attachment" }, img, caption)
}

async function picture(ctx: AppContext, cellId: string, sha256: string): Promise<string | null> {
  const blob = navigator.onLine
    ? await ctx.pictures.get(cellId, sha256).catch(() => null)
    : await ctx.pictures.kept(cellId, sha256)
  if (blob === null) return null
  const url = URL.createObjectURL(blob)
  objectUrls.set(sha256, url)
  return url
}

export function meetingsScreen(ctx: AppContext, cellId: string): HTMLElement {
  const list = meetings(ctx.book.read(cellId, "meetings"))
  const secretary = isSecretary(ctx)
  return h(
    "section",
    { "aria-labelledby": "meetings-title" },
    h("h2", { id: "meetings-title" }, t("meetings_title")),
    secretary ? (scheduling ? scheduleForm(ctx, cellId) : h("button", { class: "primary", onclick: () => ((scheduling = true), ctx.render()) }, t("schedule"))) : null,
    list.length
      ? h(
          "ul",
          { class: "list", "aria-label": t("meetings_title") },
          ...list.map(m => {
            const open = openMeeting === m.meeting_id
            return h(
              "li",
              { class: open ? "open" : "" },
              h(
                "button",
                { class: "row", "aria-expanded": open ? "true" : "false", onclick: () => ((openMeeting = open ? null : m.meeting_id), ctx.render()) },
                h("span", { class: "name" }, m.date),
                h("span", { class: "badge" }, code("meeting_kind", m.kind)),
              ),
              open ? detail(ctx, cellId, m, secretary) : null,
            )
          }),
        )
      : h("p", {}, t("no_meetings")),
  )
}
