/** The schema's readers on plain values (schema/roster.py, meetings.py, tasks.py): members
 * with their effective status (merged records left out), meetings, tasks with their effective
 * status. Fields a newer schema added are kept in ``extra``-free form: readers take what they know. */

import { effectiveStatus } from "../conflicts/lifecycle.js"
import { survivors } from "../conflicts/merges.js"
import { effectiveTaskStatus } from "../conflicts/taskStatus.js"
import { byCodePoint } from "../rules/access.js"
import { get, isList, isMap, type Plain, type PlainMap } from "../rules/plain.js"
import { resolutionIds, studiedMembers } from "../rules/resolutions.js"
import { STUDIES } from "../rules/schema.js"

const str = (v: Plain | undefined): string | null => (typeof v === "string" ? v : null)

export interface StatusEvent {
  status: string
  date: string | null
  reason: string | null
  by: string | null
  correction: boolean
}

export interface Member {
  member_id: string
  full_name: string
  status: string
  card_number: string | null
  birth_date: string | null
  gender: string | null
  joined_date: string | null
  official_date: string | null
  phone: string | null
  residence_registered: boolean
  residence_place: string | null
  history: StatusEvent[]
}

function recordsOf(doc: Plain, name: string): Record<string, PlainMap> {
  const all = get(doc, name)
  const out: Record<string, PlainMap> = {}
  if (isMap(all)) for (const [k, v] of Object.entries(all)) if (isMap(v)) out[k] = v
  return out
}

export function members(roster: Plain): Member[] {
  const records = recordsOf(roster, "members")
  const merged = survivors(Object.fromEntries(Object.entries(records).map(([m, r]) => [m, get(r, "merged_into") ?? null])))
  return Object.entries(records)
    .filter(([m]) => !(m in merged))
    .map(([memberId, r]) => {
      const residence = get(r, "residence")
      const history = get(r, "status_history")
      return {
        member_id: memberId,
        full_name: str(get(r, "full_name")) ?? "",
        status: effectiveStatus(r),
        card_number: str(get(r, "card_number")),
        birth_date: str(get(r, "birth_date")),
        gender: str(get(r, "gender")),
        joined_date: str(get(r, "joined_date")),
        official_date: str(get(r, "official_date")),
        phone: str(get(r, "phone")),
        residence_registered: get(residence, "registered") === true,
        residence_place: str(get(residence, "place")),
        history: (isList(history) ? history : []).filter(isMap).map(e => ({
          status: str(get(e, "status")) ?? "",
          date: str(get(e, "date")),
          reason: str(get(e, "reason")),
          by: str(get(e, "by")),
          correction: get(e, "correction") === true,
        })),
      }
    })
    .sort((a, b) => a.full_name.localeCompare(b.full_name, "vi") || byCodePoint(a.member_id, b.member_id))
}

export interface Transfer {
  transfer_id: string
  member_id: string
  direction: string
  other_unit: string
  date: string
  letter_number: string | null
}

export function transfers(roster: Plain): Transfer[] {
  return Object.entries(recordsOf(roster, "transfers"))
    .map(([id, t]) => ({
      transfer_id: id,
      member_id: str(get(t, "member_id")) ?? "",
      direction: str(get(t, "direction")) ?? "",
      other_unit: str(get(t, "other_unit")) ?? "",
      date: str(get(t, "date")) ?? "",
      letter_number: str(get(t, "letter_number")),
    }))
    .sort((a, b) => byCodePoint(b.date, a.date))
}

export function positions(roster: Plain): Record<string, string> {
  const raw = get(roster, "positions")
  const out: Record<string, string> = {}
  if (isMap(raw)) for (const [k, v] of Object.entries(raw)) if (typeof v === "string") out[k] = v
  return out
}

export interface Study {
  study_id: string
  member_id: string
  date: string | null
  by: string | null
}

export interface Resolution {
  resolution_id: string
  title: string
  number: string | null
  studied_date: string | null
  /** The members who studied it: the record that counts for each, by member id. */
  studied_by: Study[]
}

export interface Meeting {
  meeting_id: string
  date: string
  kind: string
  agenda: string
  attendance: Record<string, string>
  minutes: string
  resolutions: Resolution[]
  attachments: { sha256: string; name: string; mime_type: string; size: number }[]
}

export function meetings(doc: Plain): Meeting[] {
  const rawStudies = get(doc, STUDIES)
  const studied = studiedMembers(rawStudies)
  const studyOf = (studyId: string, memberId: string): Study => {
    const record = get(rawStudies, studyId)
    return { study_id: studyId, member_id: memberId, date: str(get(record, "date")), by: str(get(record, "by")) }
  }
  return Object.entries(recordsOf(doc, "meetings"))
    .map(([id, m]) => {
      const attendance = get(m, "attendance")
      const resolutions = get(m, "resolutions")
      const attachments = get(m, "attachments")
      return {
        meeting_id: id,
        date: str(get(m, "date")) ?? "",
        kind: str(get(m, "kind")) ?? "",
        agenda: str(get(m, "agenda")) ?? "",
        attendance: isMap(attendance)
          ? Object.fromEntries(Object.entries(attendance).filter(([, v]) => typeof v === "string")) as Record<string, string>
          : {},
        minutes: str(get(m, "minutes")) ?? "",
        resolutions: (() => {
          const entries = isList(resolutions) ? resolutions : []
          const ids = resolutionIds(id, entries)
          return entries.flatMap((r, i) => {
            const rid = ids[i]
            if (!isMap(r) || rid === null || rid === undefined) return []
            const per = studied[rid] ?? {}
            return [
              {
                resolution_id: rid,
                title: str(get(r, "title")) ?? "",
                number: str(get(r, "number")),
                studied_date: str(get(r, "studied_date")),
                studied_by: Object.keys(per)
                  .sort(byCodePoint)
                  .map(memberId => studyOf(per[memberId]!, memberId)),
              },
            ]
          })
        })(),
        attachments: Object.entries(isMap(attachments) ? attachments : {})
          .filter(([, a]) => isMap(a))
          .map(([h, a]) => ({
            sha256: h,
            name: str(get(a, "name")) ?? "",
            mime_type: str(get(a, "mime_type")) ?? "",
            size: typeof get(a, "size") === "number" ? (get(a, "size") as number) : 0,
          })),
      }
    })
    .sort((a, b) => byCodePoint(b.date, a.date))
}

export interface Task {
  task_id: string
  title: string
  description: string
  assignee: string
  assigned_by: string
  due_date: string | null
  status: string
  progress: { when: string | null; who: string; text: string }[]
}

export function tasks(doc: Plain): Task[] {
  return Object.entries(recordsOf(doc, "tasks"))
    .map(([id, t]) => {
      const progress = get(t, "progress")
      return {
        task_id: id,
        title: str(get(t, "title")) ?? "",
        description: str(get(t, "description")) ?? "",
        assignee: str(get(t, "assignee")) ?? "",
        assigned_by: str(get(t, "assigned_by")) ?? "",
        due_date: str(get(t, "due_date")),
        status: effectiveTaskStatus(t),
        progress: (isList(progress) ? progress : []).filter(isMap).map(n => ({
          when: str(get(n, "when")),
          who: str(get(n, "who")) ?? "",
          text: str(get(n, "text")) ?? "",
        })),
      }
    })
    .sort((a, b) => byCodePoint(a.title, b.title))
}
