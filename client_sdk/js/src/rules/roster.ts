/** The roster's pure checks (schema/roster.py): a member's fields as the schema stores them,
 * and the rules on a whole record. */

import { invalid } from "./errors.js"
import * as f from "./fields.js"
import { isMap, type Plain, type PlainMap } from "./plain.js"
import { CURRENT_VERSION, EDITABLE_FIELDS, FIELDS_SINCE, GENDERS, MAX_NAME } from "./schema.js"

/** The stored form of member fields (Python ``clean_fields``), in the order Python checks them. */
export function cleanFields(data: Record<string, unknown>, version: number = CURRENT_VERSION): PlainMap {
  const known = new Set(EDITABLE_FIELDS.filter(k => (FIELDS_SINCE[k] ?? 1) <= version))
  const unknown = Object.keys(data).filter(k => !known.has(k as (typeof EDITABLE_FIELDS)[number]))
  if (unknown.length > 0) {
    throw invalid(
      "unknown_field",
      "Trường không có trong hồ sơ đảng viên.",
      "Field not in the member record.",
      unknown.sort().join(", "),
    )
  }
  const out: PlainMap = {}
  const has = (k: string) => Object.prototype.hasOwnProperty.call(data, k)
  if (has("full_name")) out.full_name = f.text(data.full_name, "full_name", MAX_NAME)
  if (has("card_number")) out.card_number = f.cardNumber(data.card_number)
  for (const key of ["birth_date", "joined_date", "official_date"]) {
    if (has(key)) out[key] = f.isoDate(data[key], key)
  }
  if (has("gender")) {
    out.gender = data.gender === null ? null : f.choice(data.gender, "gender", GENDERS, "bad_gender")
  }
  if (has("ethnicity")) out.ethnicity = f.text(data.ethnicity, "ethnicity", 40, false)
  if (has("phone")) out.phone = f.phone(data.phone)
  if (has("citizen_id")) out.citizen_id = f.citizenId(data.citizen_id)
  if (has("residence")) {
    const res = data.residence
    if (!isMap(res) || Object.keys(res).some(k => k !== "registered" && k !== "place")) {
      throw invalid(
        "bad_residence",
        "Nơi cư trú gồm 'registered' (có/không) và 'place'.",
        "Residence has 'registered' (bool) and 'place'.",
      )
    }
    const residence: PlainMap = {}
    if ("registered" in res) residence.registered = pyBool(res.registered)
    if ("place" in res) residence.place = f.text(res.place, "residence.place", 200, false)
    out.residence = residence
  }
  return out
}

function pyBool(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === "") return false
  if (Array.isArray(value)) return value.length > 0
  if (isMap(value)) return Object.keys(value).length > 0
  return true
}

/** Rules on a whole record, after the change is merged into it. */
export function checkRecord(record: Record<string, Plain | undefined>, status: string): void {
  const official = record.official_date
  if (status === "full" && !pyBool(official)) {
    throw invalid(
      "official_date_required",
      "Đảng viên chính thức phải có ngày công nhận chính thức.",
      "A full member needs an official (full-membership) date.",
    )
  }
  if (status === "probationary" && pyBool(official)) {
    throw invalid(
      "official_date_not_allowed",
      "Đảng viên dự bị chưa có ngày công nhận chính thức.",
      "A probationary member has no official date yet.",
    )
  }
  f.notBefore(
    record.birth_date,
    record.joined_date,
    "joined_before_birth",
    "Ngày vào Đảng trước ngày sinh.",
    "Joined date is before the birth date.",
  )
  f.notBefore(
    record.joined_date,
    record.official_date,
    "official_before_joined",
    "Ngày chính thức trước ngày vào Đảng.",
    "Official date is before the joined date.",
  )
}
