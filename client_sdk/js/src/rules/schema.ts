/** The schema's constants, as schema/*.py define them (the conformance file checks each one
 * against Python's, so they cannot drift). */

export const CURRENT_VERSION = 3
export const KINDS = ["roster", "meetings", "tasks"] as const
export type Kind = (typeof KINDS)[number]

/** Containers per kind of the current schema version (schema/migrations.py). */
export const CONTAINERS: Record<string, readonly string[]> = {
  roster: ["members", "positions", "transfers"],
  meetings: ["meetings", "studies"],
  tasks: ["tasks"],
}

// roster (schema/roster.py)
export const MEMBER_STATUSES = ["probationary", "full", "transferred_out", "deceased", "struck_off", "expelled"] as const
export const CURRENT_STATUSES = new Set(["probationary", "full"])
export const TERMINAL_STATUSES = new Set(["deceased", "struck_off", "expelled"])
export const GENDERS = ["male", "female", "other"] as const
export const POSITIONS = ["secretary", "deputy"] as const
export const CONTACT_FIELDS = ["phone", "residence"] as const
export const EDITABLE_FIELDS = [
  "full_name",
  "card_number",
  "birth_date",
  "gender",
  "ethnicity",
  "joined_date",
  "official_date",
  "phone",
  "residence",
  "citizen_id",
] as const
export const FIELDS_SINCE: Record<string, number> = { ethnicity: 2, citizen_id: 2 }
export const MAX_NAME = 120
export const MAX_REASON = 500
export const TRANSFER_DIRECTIONS = ["in", "out"] as const

// meetings (schema/meetings.py)
export const MEETING_KINDS = ["regular", "thematic"] as const
export const ATTENDANCE = ["present", "excused", "absent"] as const
export const MAX_AGENDA = 2_000
export const MAX_MINUTES = 200_000
export const MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
export const ATTACHMENT_TYPES = ["image/jpeg", "image/png", "image/heic", "image/heif", "application/pdf"] as const
/** The container of study records (schema v3), and the version whose apps give each new
 * resolution an ``id``. */
export const STUDIES = "studies"
export const IDS_SINCE = 3

// tasks (schema/tasks.py)
export const TASK_STATUSES = ["open", "in_progress", "done", "cancelled"] as const
export const CLOSED = new Set(["done", "cancelled"])
export const MAX_TITLE = 200
export const MAX_TEXT = 2_000

// access (schema/access.py)
export const ROLES = [
  "member",
  "cell_deputy",
  "cell_secretary",
  "grassroots_officer",
  "district_official",
  "province_admin",
] as const
export const CELL_WRITERS = new Set(["cell_secretary", "cell_deputy"])
export const ASSIGNEE_STATUSES = new Set(["open", "in_progress", "done"])
export const REJECTION_NOTICE = "sotay/change-rejected"
/** The server's refusal of every write from a device still held after enrolment
 * (syncd/core/hierarchy.py ``DEVICE_HELD``): the SDK refuses them first with the same words. */
export const DEVICE_HELD = {
  rule: "device_unconfirmed",
  vi: "Thiết bị này đang chờ bí thư chi bộ xác nhận: chỉ xem được, chưa sửa được.",
  en: "This device is waiting for the cell secretary's confirmation: it may read, not write yet.",
}

/** Everything above as one comparable value (the conformance file's ``constants`` case). */
export function constants(): Record<string, unknown> {
  const sorted = (s: Set<string>) => [...s].sort()
  return {
    CURRENT_VERSION,
    KINDS: [...KINDS],
    CONTAINERS,
    MEMBER_STATUSES: [...MEMBER_STATUSES],
    CURRENT_STATUSES: sorted(CURRENT_STATUSES),
    TERMINAL_STATUSES: sorted(TERMINAL_STATUSES),
    GENDERS: [...GENDERS],
    POSITIONS: [...POSITIONS],
    CONTACT_FIELDS: [...CONTACT_FIELDS],
    EDITABLE_FIELDS: [...EDITABLE_FIELDS],
    FIELDS_SINCE,
    MAX_NAME,
    MAX_REASON,
    TRANSFER_DIRECTIONS: [...TRANSFER_DIRECTIONS],
    MEETING_KINDS: [...MEETING_KINDS],
    ATTENDANCE: [...ATTENDANCE],
    MAX_AGENDA,
    MAX_MINUTES,
    MAX_ATTACHMENT_BYTES,
    ATTACHMENT_TYPES: [...ATTACHMENT_TYPES],
    STUDIES,
    IDS_SINCE,
    TASK_STATUSES: [...TASK_STATUSES],
    CLOSED: sorted(CLOSED),
    MAX_TITLE,
    MAX_TEXT,
    ROLES: [...ROLES],
    CELL_WRITERS: sorted(CELL_WRITERS),
    ASSIGNEE_STATUSES: sorted(ASSIGNEE_STATUSES),
    REJECTION_NOTICE,
    DEVICE_HELD,
  }
}
