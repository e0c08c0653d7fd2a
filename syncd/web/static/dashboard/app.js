// The officials' dashboard: sign in with a one-time code, pick a unit, read its reports as tables
// and charts, download them, and drill into one cell's roster, meetings and tasks (read only).
// Routes live in the address's hash, so the browser's back button and bookmarks work:
//   #/unit/<unit>/<report>      a unit's report
//   #/cell/<cell>/<tab>         a cell's records (roster | meetings | tasks)

import { api, ApiError, downloadUrl, SessionEnded } from "./api.js";
import { barChart, lineChart } from "./charts.js";
import { currentLang, errorText, label, setLang, t } from "./i18n.js";

const REPORTS = ["party_count", "meetings", "resolutions", "residence", "tasks", "conflicts", "freshness"];
const CELL_TABS = ["roster", "meetings", "tasks"];
const POLL_MS = 500;

const state = {
  session: null,
  units: new Map(), // unit_id -> {unit_id, parent_id, level, name}
  children: new Map(), // unit_id -> [unit_id]
  period: thisYear(),
  generation: null,
  pollTimer: null,
  view: null, // what is drawn: {unit, report} or {cell, tab}
};

function thisYear() {
  const year = new Date().getFullYear();
  return { from: `${year}-01`, to: `${year}-12` };
}

// ---- DOM helpers (text only through textContent: nothing from the server becomes markup) ----

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, "");
    else node.setAttribute(k, String(v));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const main = () => document.getElementById("main");
const nav = () => document.getElementById("units");

function announce(text) {
  document.getElementById("status").textContent = text;
}

function unitName(unitId) {
  return state.units.get(unitId)?.name || unitId;
}

function formatNumber(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "number") return value.toLocaleString(currentLang() === "en" ? "en-GB" : "vi-VN");
  return String(value);
}

function percent(value) {
  if (value === null || value === undefined) return "—";
  return `${(value * 100).toLocaleString(currentLang() === "en" ? "en-GB" : "vi-VN", { maximumFractionDigits: 1 })} %`;
}

// A calendar date ("2026-11-05") as people write it: 05/11/2026 in Vietnamese.
function day(iso) {
  if (typeof iso !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(iso)) return iso || "—";
  if (currentLang() === "en") return iso;
  const [y, m, d] = iso.split("-");
  return `${d}/${m}/${y}`;
}

function when(iso) {
  if (!iso) return t("never");
  const date = new Date(iso);
  return date.toLocaleString(currentLang() === "en" ? "en-GB" : "vi-VN");
}

// ---- tables ----------------------------------------------------------------------------------

// columns: [{key, label, numeric?, render?(row)}]; the first column is the row's header.
function table(caption, columns, rows) {
  if (!rows.length) return h("p", { class: "empty" }, t("noRows"));
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.numeric ? "num" : "" }, c.label)));
  const body = rows.map((row) =>
    h(
      "tr",
      { class: row.cell_id === "total" ? "total" : "" },
      columns.map((c, i) => {
        const content = c.render ? c.render(row) : formatNumber(row[c.key]);
        return i === 0 ? h("th", { scope: "row" }, content) : h("td", { class: c.numeric ? "num" : "" }, content);
      }),
    ),
  );
  // A wide table scrolls inside its own region, reachable by keyboard, on a phone.
  return h(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    h("table", {}, h("caption", {}, caption), h("thead", {}, head), h("tbody", {}, body)),
  );
}

function cellColumn() {
  return {
    key: "cell_name",
    label: t("cell"),
    render: (row) =>
      row.cell_id === "total"
        ? t("total")
        : h("a", { href: `#/cell/${encodeURIComponent(row.cell_id)}/roster` }, row.cell_name || row.cell_id),
  };
}

const num = (key) => ({ key, label: t(key), numeric: true });

// ---- the frame: header, unit tree, main --------------------------------------------------------

function drawHeader() {
  document.title = t("title");
  document.getElementById("app-title").textContent = t("title");
  document.getElementById("skip").textContent = t("skip");
  const lang = document.getElementById("lang");
  lang.textContent = t("language");
  lang.setAttribute("aria-label", t("languageLabel"));
  const who = document.getElementById("who");
  const out = document.getElementById("sign-out");
  if (state.session) {
    const roles = state.session.grants
      .map((g) => `${label(state.session.labels, "role", g.role)} — ${g.unit_name || g.unit_id}`)
      .join("; ");
    who.textContent = `${t("signedInAs")} ${roles}`;
    out.textContent = t("signOut");
    out.hidden = false;
  } else {
    who.textContent = "";
    out.hidden = true;
  }
}

function drawTree(selected) {
  const box = nav();
  box.replaceChildren();
  if (!state.session) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const onPath = new Set();
  for (let u = selected; u; u = state.units.get(u)?.parent_id) onPath.add(u);
  const roots = [...state.units.values()].filter((u) => !state.units.has(u.parent_id));
  const item = (unit) => {
    const kids = state.children.get(unit.unit_id) ?? [];
    const link = h(
      "a",
      {
        href: unit.level === "cell" ? `#/cell/${encodeURIComponent(unit.unit_id)}/roster` : `#/unit/${encodeURIComponent(unit.unit_id)}/party_count`,
        "aria-current": unit.unit_id === selected ? "page" : undefined,
      },
      unit.name || unit.unit_id,
      h("span", { class: "level" }, ` · ${label(state.session.labels, "unit_level", unit.level)}`),
    );
    if (!kids.length) return h("li", {}, link);
    // A big province stays readable: only the branch of the chosen unit is open.
    const open = onPath.has(unit.unit_id) || unit.level === "province" || unit.level === "district";
    return h(
      "li",
      {},
      h("details", { open }, h("summary", {}, link), h("ul", {}, kids.map((k) => item(state.units.get(k))))),
    );
  };
  box.append(
    h("h2", { id: "units-title" }, t("units")),
    h("ul", { class: "tree", "aria-labelledby": "units-title" }, roots.map(item)),
  );
}

// ---- sign-in -----------------------------------------------------------------------------------

function drawSignIn(message) {
  stopPolling();
  state.session = null;
  drawHeader();
  drawTree(null);
  const error = h("p", { id: "sign-in-error", class: "error", role: "alert" }, message ?? "");
  const input = h("input", {
    id: "code",
    name: "code",
    autocomplete: "one-time-code",
    autocapitalize: "characters",
    spellcheck: "false",
    inputmode: "text",
    maxlength: "12",
    required: true,
    "aria-describedby": "sign-in-help sign-in-error",
  });
  const button = h("button", { type: "submit" }, t("signIn"));
  const form = h(
    "form",
    {
      class: "sign-in",
      onsubmit: async (event) => {
        event.preventDefault();
        button.disabled = true;
        button.textContent = t("signingIn");
        error.textContent = "";
        try {
          await api.signIn(input.value);
          await start();
        } catch (err) {
          error.textContent = err instanceof ApiError ? errorText(err.body) : String(err);
          button.disabled = false;
          button.textContent = t("signIn");
          input.focus();
        }
      },
    },
    h("h2", {}, t("signInTitle")),
    h("p", { id: "sign-in-help" }, t("signInHelp")),
    h("label", { for: "code" }, t("codeLabel")),
    input,
    button,
    error,
  );
  main().replaceChildren(form);
  input.focus();
}

// ---- a unit's reports ------------------------------------------------------------------------

function periodForm(unitId, report) {
  const from = h("input", { type: "month", id: "from", value: state.period.from, required: true });
  const to = h("input", { type: "month", id: "to", value: state.period.to, required: true });
  return h(
    "form",
    {
      class: "period",
      onsubmit: (event) => {
        event.preventDefault();
        if (from.value && to.value) state.period = { from: from.value, to: to.value };
        drawUnit(unitId, report);
      },
    },
    h("fieldset", {}, h("legend", {}, t("period")), h("label", { for: "from" }, t("from")), from, h("label", { for: "to" }, t("to")), to, h("button", { type: "submit" }, t("apply"))),
  );
}

function reportTabs(unitId, current) {
  return h(
    "nav",
    { class: "tabs", "aria-label": t("reports") },
    h(
      "ul",
      {},
      REPORTS.map((name) =>
        h("li", {}, h("a", { href: `#/unit/${encodeURIComponent(unitId)}/${name}`, "aria-current": name === current ? "page" : undefined }, t(name))),
      ),
    ),
  );
}

function downloads(name, query) {
  return h(
    "p",
    { class: "downloads" },
    h("a", { class: "button", href: downloadUrl(name, query, "csv"), download: "" }, t("downloadCsv")),
    h("a", { class: "button", href: downloadUrl(name, query, "xlsx"), download: "" }, t("downloadXlsx")),
  );
}

function monthShort(month) {
  return month.slice(5);
}

const RENDERERS = {
  party_count(answer) {
    const rows = answer.rows;
    const parts = [];
    if (Array.isArray(answer.series) && answer.series.length) {
      parts.push(
        h(
          "figure",
          {},
          lineChart(
            t("seriesChart"),
            answer.series.map((p) => ({ label: p.month, short: monthShort(p.month), value: p.members ?? 0 })),
          ),
          h("figcaption", {}, t("seriesChart")),
        ),
      );
    }
    const events = ["joined", "became_full", "transferred_in", "transferred_out", "deceased", "struck_off", "expelled"];
    parts.push(table(t("party_count"), [cellColumn(), num("probationary"), num("full"), num("current"), ...events.map(num)], rows));
    const total = rows.find((r) => r.cell_id === "total") ?? {};
    const groups = (key, tableName, caption) =>
      table(
        caption,
        [{ key: "group", label: t("group") }, { key: "count", label: t("count"), numeric: true }],
        Object.entries(total[key] ?? {})
          .sort((a, b) => b[1] - a[1])
          .map(([code, count]) => ({ group: tableName ? label(state.session.labels, tableName, code) : code, count })),
      );
    parts.push(h("div", { class: "pair" }, groups("gender", "gender", t("byGender")), groups("ethnicity", null, t("byEthnicity"))));
    return parts;
  },

  meetings(answer) {
    const perMonth = new Map();
    for (const row of answer.rows) {
      for (const [month, held] of Object.entries(row.by_month ?? {})) perMonth.set(month, (perMonth.get(month) ?? 0) + held);
    }
    const points = [...perMonth.entries()].sort().map(([month, value]) => ({ label: month, short: monthShort(month), value }));
    const silent = answer.no_meeting_this_month ?? [];
    return [
      h("figure", {}, barChart(t("meetingsChart"), points), h("figcaption", {}, t("meetingsChart"))),
      h(
        "section",
        { class: "callout", "aria-labelledby": "silent-title" },
        h("h3", { id: "silent-title" }, `${t("noMeetingThisMonth")} ${answer.month} (${silent.length})`),
        silent.length
          ? h("ul", {}, silent.map((c) => h("li", {}, h("a", { href: `#/cell/${encodeURIComponent(c)}/meetings` }, unitName(c)))))
          : h("p", {}, t("allMet")),
      ),
      table(t("meetings"), [cellColumn(), num("held"), { key: "attendance_rate", label: t("attendance_rate"), numeric: true, render: (r) => percent(r.attendance_rate) }], answer.rows),
    ];
  },

  resolutions(answer) {
    const columns = [
      cellColumn(),
      { key: "title", label: t("resolution") },
      { key: "number", label: t("number") },
      { key: "date", label: t("date"), render: (r) => day(r.date) },
      { key: "studied_date", label: t("studied_date"), render: (r) => day(r.studied_date) },
      { key: "studied_current", label: t("studied"), numeric: true, render: (r) => `${formatNumber(r.studied_current)} / ${formatNumber(r.current)}` },
      { key: "studied_share", label: t("studied_share"), numeric: true, render: (r) => percent(r.studied_share) },
    ];
    return [table(t("resolutions"), columns, answer.rows), morePages(answer, answer.rows.length)];
  },

  residence(answer) {
    return [table(t("residence"), [cellColumn(), num("current"), num("residence_registered")], answer.rows)];
  },

  tasks(answer) {
    const total = answer.rows.find((r) => r.cell_id === "total") ?? {};
    const statuses = ["open", "in_progress", "overdue", "done"];
    return [
      h("figure", {}, barChart(t("tasksChart"), statuses.map((s) => ({ label: t(s), value: total[s] ?? 0 }))), h("figcaption", {}, t("tasksChart"))),
      table(
        t("tasks"),
        [cellColumn(), { key: "assignee", label: t("assignee"), render: (r) => r.assignee_name || r.assignee || "" }, ...statuses.map(num)],
        answer.rows,
      ),
      morePages(answer, answer.rows.length - 1), // the total row closes every page
    ];
  },

  conflicts(answer) {
    return [
      table(
        t("conflicts"),
        [
          cellColumn(),
          { key: "kind", label: t("kind"), render: (c) => t(`conflict_${c.kind}`) },
          { key: "message", label: t("conflict"), render: (c) => (currentLang() === "en" ? c.message_en : c.message_vi) },
        ],
        answer.rows,
      ),
    ];
  },

  freshness(answer) {
    const stale = answer.stale_cells ?? [];
    return [
      h(
        "section",
        { class: "callout", "aria-labelledby": "stale-title" },
        h("h3", { id: "stale-title" }, `${t("staleCells", { days: answer.stale_days })} (${stale.length})`),
        stale.length ? h("ul", {}, stale.map((c) => h("li", {}, h("a", { href: `#/cell/${encodeURIComponent(c)}/roster` }, unitName(c))))) : null,
      ),
      table(
        t("freshness"),
        [
          cellColumn(),
          { key: "last_sync", label: t("last_sync"), render: (r) => when(r.last_sync) },
          { key: "stale", label: t("stale"), render: (r) => (r.stale ? t("yes") : t("no")) },
          { key: "devices", label: t("devices"), numeric: true, render: (r) => formatNumber(Object.keys(r.devices ?? {}).length) },
          { key: "never_synced", label: t("never_synced"), numeric: true, render: (r) => formatNumber((r.never_synced ?? []).length) },
        ],
        answer.rows,
      ),
    ];
  },
};

async function drawUnit(unitId, report) {
  state.view = { unit: unitId, report };
  drawTree(unitId);
  const query = { unit: unitId, from: state.period.from, to: state.period.to };
  const heading = h("h2", { id: "page-title", tabindex: "-1" }, `${unitName(unitId)} — ${t(report)}`);
  const body = h("div", { id: "report", "aria-busy": "true" }, h("p", {}, t("loading")));
  main().replaceChildren(heading, reportTabs(unitId, report), periodForm(unitId, report), downloads(report, query), body);
  await fillReport(body, unitId, report);
  announce(`${t(report)}: ${unitName(unitId)}`);
}

// The report's figures into its box; a refresh keeps the old figures until the new ones came,
// so the page never blinks and the reader keeps their place.
async function fillReport(body, unitId, report) {
  const query = { unit: unitId, from: state.period.from, to: state.period.to };
  try {
    const answer = await api.report(report, query);
    if (state.view?.unit !== unitId || state.view?.report !== report) return; // moved on meanwhile
    body.replaceChildren(
      ...(answer.complete === false ? [h("p", { class: "warning", role: "status" }, t("incomplete"))] : []),
      ...RENDERERS[report](answer).filter(Boolean),
      h("p", { class: "updated" }, `${t("updatedAt")} ${new Date().toLocaleTimeString(currentLang() === "en" ? "en-GB" : "vi-VN")}`),
    );
    body.setAttribute("aria-busy", "false");
  } catch (err) {
    handleError(err, body);
  }
}

/** A province holds tens of thousands of resolutions or assignees: the page shows the first
 * page of them (the totals count them all) and says so; the downloads hold every row. */
function morePages(answer, shown) {
  if (answer.next_offset === null || answer.next_offset === undefined) return null;
  return h("p", { class: "note" }, t("morePages", { shown, total: answer.total_rows }));
}

// ---- one cell's records (read only) ------------------------------------------------------------

/** A meeting's files: a photo of the handwritten minutes shows as a thumbnail that opens the
 * phone-sized copy; a PDF opens as sent. The browser fetches them with the session cookie, under
 * the same scope as the records. A file whose bytes have not reached the server yet says so. */
function attachmentList(cellId, attachments) {
  return h(
    "div",
    { class: "attachments" },
    h("h4", {}, t("attachments")),
    h(
      "ul",
      {},
      attachments.map((a) => {
        const url = `/api/cells/${encodeURIComponent(cellId)}/blobs/${encodeURIComponent(a.sha256)}`;
        const image = a.mime_type.startsWith("image/");
        const caption = h("span", {}, `${a.name} (${Math.max(1, Math.round(a.size / 1024))} KB)`);
        const thumb = image
          ? h("img", {
              src: `${url}?variant=thumbnail`,
              alt: `${t("photoOf")} ${a.name}`,
              loading: "lazy",
              onerror: (e) => e.target.replaceWith(h("span", { class: "empty" }, t("notUploaded"))),
            })
          : null;
        return h("li", {}, h("a", { href: image ? `${url}?variant=display` : url, target: "_blank", rel: "noopener" }, thumb, caption));
      }),
    ),
  );
}

const CELL_RENDERERS = {
  roster(records, labels) {
    const members = records.roster.members;
    const history = (m) =>
      m.history.length
        ? h(
            "details",
            {},
            h("summary", {}, `${t("history")} (${m.history.length})`),
            h("ul", {}, m.history.map((e) => h("li", {}, `${day(e.date)}: ${label(labels, "member_status", e.status)}${e.reason ? ` — ${e.reason}` : ""}`))),
          )
        : "—";
    const transfers = records.roster.transfers;
    return [
      table(
        t("roster"),
        [
          { key: "full_name", label: t("full_name"), render: (m) => m.full_name || m.member_id },
          { key: "card_number", label: t("card_number") },
          { key: "status", label: t("status"), render: (m) => label(labels, "member_status", m.status) },
          { key: "birth_date", label: t("birth_date"), render: (m) => day(m.birth_date) },
          { key: "gender", label: t("gender"), render: (m) => (m.gender ? label(labels, "gender", m.gender) : "—") },
          { key: "ethnicity", label: t("ethnicity") },
          { key: "joined_date", label: t("joined_date"), render: (m) => day(m.joined_date) },
          { key: "official_date", label: t("official_date"), render: (m) => day(m.official_date) },
          { key: "residence_registered", label: t("residence_registered"), render: (m) => (m.residence_registered ? t("yes") : t("no")) },
          { key: "history", label: t("history"), render: history },
        ],
        members,
      ),
      transfers.length
        ? table(
            t("transfers"),
            [
              { key: "date", label: t("transferDate"), render: (r) => day(r.date) },
              { key: "member_id", label: t("full_name"), render: (r) => members.find((m) => m.member_id === r.member_id)?.full_name ?? r.member_id },
              { key: "direction", label: t("direction"), render: (r) => label(labels, "transfer_direction", r.direction) },
              { key: "other_unit", label: t("other_unit") },
            ],
            transfers,
          )
        : null,
    ];
  },

  meetings(records, labels) {
    const names = new Map(records.roster.members.map((m) => [m.member_id, m.full_name]));
    if (!records.meetings.length) return [h("p", { class: "empty" }, t("noRows"))];
    return records.meetings.map((m) => {
      const counts = {};
      for (const value of Object.values(m.attendance)) counts[value] = (counts[value] ?? 0) + 1;
      return h(
        "article",
        { class: "meeting" },
        h("h3", {}, `${day(m.date)} — ${label(labels, "meeting_kind", m.kind)}`),
        m.agenda ? h("p", {}, h("strong", {}, `${t("agenda")}: `), m.agenda) : null,
        h(
          "p",
          {},
          h("strong", {}, `${t("attendance")}: `),
          Object.entries(counts)
            .map(([code, n]) => `${label(labels, "attendance", code)} ${n}`)
            .join(", ") || "—",
        ),
        h(
          "details",
          {},
          h("summary", {}, t("attendance")),
          h("ul", {}, Object.entries(m.attendance).map(([id, value]) => h("li", {}, `${names.get(id) ?? id}: ${label(labels, "attendance", value)}`))),
        ),
        h("h4", {}, t("minutes")),
        h("div", { class: "minutes" }, m.minutes || t("noMinutes")),
        m.resolutions.length
          ? h(
              "div",
              {},
              h("h4", {}, t("meetingResolutions")),
              h(
                "ul",
                {},
                m.resolutions.map((r) =>
                  h(
                    "li",
                    {},
                    `${r.number ? `${r.number}: ` : ""}${r.title}${r.studied_date ? ` — ${t("studied_date")} ${day(r.studied_date)}` : ""}`,
                    r.studied_by?.length
                      ? h("details", {}, h("summary", {}, `${t("studiedBy")}: ${r.studied_by.length}`), h("ul", {}, r.studied_by.map((st) => h("li", {}, `${names.get(st.member_id) ?? st.member_id} — ${day(st.date)}`))))
                      : null,
                  ),
                ),
              ),
            )
          : null,
        m.attachments.length ? attachmentList(records.cell_id, m.attachments) : null,
      );
    });
  },

  tasks(records, labels) {
    const names = new Map(records.roster.members.map((m) => [m.member_id, m.full_name]));
    return [
      table(
        t("tasks"),
        [
          { key: "title", label: t("task") },
          { key: "assignee", label: t("assignee"), render: (r) => names.get(r.assignee) ?? r.assignee },
          { key: "status", label: t("status"), render: (r) => label(labels, "task_status", r.status) },
          { key: "due_date", label: t("due_date"), render: (r) => day(r.due_date) },
          {
            key: "progress",
            label: t("progress"),
            render: (r) => (r.progress.length ? h("ul", {}, r.progress.map((n) => h("li", {}, `${day(n.when?.slice(0, 10))} ${names.get(n.who) ?? n.who}: ${n.text}`))) : "—"),
          },
        ],
        records.tasks,
      ),
    ];
  },
};

async function drawCell(cellId, tab) {
  state.view = { cell: cellId, tab };
  drawTree(cellId);
  const parent = state.units.get(cellId)?.parent_id;
  const heading = h("h2", { id: "page-title", tabindex: "-1" }, `${unitName(cellId)} — ${t(tab)}`);
  const tabs = h(
    "nav",
    { class: "tabs", "aria-label": unitName(cellId) },
    h(
      "ul",
      {},
      CELL_TABS.map((name) => h("li", {}, h("a", { href: `#/cell/${encodeURIComponent(cellId)}/${name}`, "aria-current": name === tab ? "page" : undefined }, t(name)))),
      h("li", {}, h("a", { href: `#/unit/${encodeURIComponent(cellId)}/party_count` }, t("reports"))),
    ),
  );
  const body = h("div", { id: "records", "aria-busy": "true" }, h("p", {}, t("loading")));
  main().replaceChildren(
    parent && state.units.has(parent) ? h("p", {}, h("a", { href: `#/unit/${encodeURIComponent(parent)}/party_count` }, `← ${unitName(parent)}`)) : null,
    heading,
    h("p", { class: "note" }, t("readOnly")),
    tabs,
    body,
  );
  await fillRecords(body, cellId, tab);
  announce(`${unitName(cellId)}: ${t(tab)}`);
}

async function fillRecords(body, cellId, tab) {
  try {
    const records = await api.records(cellId);
    if (state.view?.cell !== cellId || state.view?.tab !== tab) return;
    body.replaceChildren(...CELL_RENDERERS[tab](records, state.session.labels).filter(Boolean));
    body.setAttribute("aria-busy", "false");
  } catch (err) {
    handleError(err, body);
  }
}

// ---- routing, polling, start -------------------------------------------------------------------

function handleError(err, box) {
  if (err instanceof SessionEnded) {
    drawSignIn(t("sessionEnded"));
    return;
  }
  const text = err instanceof ApiError ? (err.status === 404 ? t("notFound") : errorText(err.body)) : String(err);
  box.replaceChildren(h("p", { class: "error", role: "alert" }, text));
  box.setAttribute("aria-busy", "false");
}

function defaultUnit() {
  // The highest unit the official reviews: the first in tree order.
  return state.session.units[0]?.unit_id;
}

function route() {
  if (!state.session) return;
  const [, kind, rawId, rawTab] = location.hash.split("/");
  const id = rawId ? decodeURIComponent(rawId) : null;
  if (kind === "cell" && id) {
    drawCell(id, CELL_TABS.includes(rawTab) ? rawTab : "roster");
  } else if (kind === "unit" && id) {
    drawUnit(id, REPORTS.includes(rawTab) ? rawTab : "party_count");
  } else if (defaultUnit()) {
    location.replace(`#/unit/${encodeURIComponent(defaultUnit())}/party_count`);
  } else {
    main().replaceChildren(h("p", {}, t("notFound")));
  }
  state.generation = null;
  document.getElementById("page-title")?.focus();
}

function viewedUnit() {
  return state.view?.unit ?? state.view?.cell ?? null;
}

// Redraw when a change reached one of the viewed unit's cells: the server counts accepted
// changes per unit, so asking is cheap and the page is current within about a second.
async function poll() {
  const unit = viewedUnit();
  if (!document.hidden && state.session && unit) {
    try {
      const { generation } = await api.changes(unit);
      if (state.generation !== null && generation !== state.generation && viewedUnit() === unit) {
        const view = state.view;
        if (view.unit) await fillReport(document.getElementById("report"), view.unit, view.report);
        else await fillRecords(document.getElementById("records"), view.cell, view.tab);
      }
      if (viewedUnit() === unit) state.generation = generation;
    } catch (err) {
      if (err instanceof SessionEnded) {
        drawSignIn(t("sessionEnded"));
        return;
      }
    }
  }
  state.pollTimer = setTimeout(poll, POLL_MS);
}

function stopPolling() {
  if (state.pollTimer !== null) clearTimeout(state.pollTimer);
  state.pollTimer = null;
}

async function start() {
  try {
    state.session = await api.session();
  } catch {
    drawSignIn();
    return;
  }
  state.units = new Map(state.session.units.map((u) => [u.unit_id, u]));
  state.children = new Map();
  for (const u of state.session.units) {
    if (state.units.has(u.parent_id)) {
      if (!state.children.has(u.parent_id)) state.children.set(u.parent_id, []);
      state.children.get(u.parent_id).push(u.unit_id);
    }
  }
  drawHeader();
  route();
  stopPolling();
  state.pollTimer = setTimeout(poll, POLL_MS);
}

function redraw() {
  drawHeader();
  if (state.session) route();
  else drawSignIn();
}

document.getElementById("lang").addEventListener("click", () => {
  setLang(currentLang() === "vi" ? "en" : "vi");
  redraw();
});
document.getElementById("sign-out").addEventListener("click", async () => {
  try {
    await api.signOut();
  } finally {
    location.hash = "";
    drawSignIn();
  }
});
window.addEventListener("hashchange", route);
setLang(currentLang());
drawHeader();
start();
