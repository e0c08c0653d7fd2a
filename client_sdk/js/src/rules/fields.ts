/** Field checks shared by the document kinds (schema/fields.py); each throws a ValidationError
 * with the same code and words as the Python check. */

import { invalid, type ValidationError } from "./errors.js"
import { clean, cleanMultiline, codePoints } from "./text.js"

const PHONE = /^\+?[0-9 .-]{8,20}$/
const CARD = /^[0-9][0-9.-]{4,19}$/
const SHA256 = /^[0-9a-f]{64}$/
const CITIZEN_ID = /^([0-9]{9}|[0-9]{12})$/

function required(field: string): ValidationError {
  return invalid("required", `Thiếu thông tin bắt buộc: ${field}.`, `Missing required field: ${field}.`)
}

function bounded(value: unknown, field: string, maxLen: number, normalise: (s: string) => string): string {
  if (typeof value !== "string") {
    throw invalid("wrong_type", `${field} phải là chuỗi.`, `${field} must be text.`)
  }
  const result = normalise(value)
  if (codePoints(result) > maxLen) {
    throw invalid(
      "too_long",
      `${field} dài quá ${maxLen} ký tự.`,
      `${field} is longer than ${maxLen} characters.`,
    )
  }
  return result
}

/** One-line text: NFC, whitespace collapsed. */
export function text(value: unknown, field: string, maxLen: number, isRequired = true): string | null {
  if (value === null || value === undefined || (typeof value === "string" && !clean(value))) {
    if (isRequired) throw required(field)
    return null
  }
  return bounded(value, field, maxLen, clean)
}

/** Minutes, notes, agendas: NFC, line breaks and spacing kept. */
export function longText(value: unknown, field: string, maxLen: number): string {
  return bounded(value, field, maxLen, cleanMultiline)
}

const pad = (n: number, width: number) => String(n).padStart(width, "0")

function daysInMonth(year: number, month: number): number {
  return [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
}

function ymd(year: number, month: number, day: number): string | null {
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`
}

/** ISO week date -> calendar date, as Python's ``date.fromisocalendar``. */
function fromWeek(year: number, week: number, weekday: number): string | null {
  if (year < 1 || week < 1 || weekday < 1 || weekday > 7) return null
  const jan4 = new Date(Date.UTC(2000, 0, 4))
  jan4.setUTCFullYear(year)
  const jan4Weekday = (jan4.getUTCDay() + 6) % 7 // Monday 0
  const weekOneMonday = jan4.getTime() - jan4Weekday * 86_400_000
  const dec28 = new Date(Date.UTC(2000, 11, 28))
  dec28.setUTCFullYear(year)
  const weeks = Math.floor((dec28.getTime() - weekOneMonday) / (7 * 86_400_000)) + 1
  if (week > weeks) return null
  const day = new Date(weekOneMonday + ((week - 1) * 7 + weekday - 1) * 86_400_000)
  const y = day.getUTCFullYear()
  if (y < 1 || y > 9999) return null
  return `${pad(y, 4)}-${pad(day.getUTCMonth() + 1, 2)}-${pad(day.getUTCDate(), 2)}`
}

const DIGITS = /^[0-9]+$/

/** Python 3.11's ``date.fromisoformat`` on a 10-character string: extended dates
 * (YYYY-MM-DD, YYYY-Www-D), or basic ones (YYYYMMDD, YYYYWwwD) whose trailing characters it
 * ignores. */
function fromIso(value: string): string | null {
  const num = (s: string) => (DIGITS.test(s) ? Number(s) : NaN)
  const year = num(value.slice(0, 4))
  if (Number.isNaN(year)) return null
  if (value[4] === "-") {
    if (value[5] === "W") {
      if (value[8] !== "-" || value.length !== 10) return null
      const week = num(value.slice(6, 8))
      const weekday = num(value.slice(9, 10))
      return Number.isNaN(week) || Number.isNaN(weekday) ? null : fromWeek(year, week, weekday)
    }
    if (value[7] !== "-") return null
    const month = num(value.slice(5, 7))
    const day = num(value.slice(8, 10))
    return Number.isNaN(month) || Number.isNaN(day) ? null : ymd(year, month, day)
  }
  if (value[4] === "W") {
    const week = num(value.slice(5, 7))
    const weekday = num(value.slice(7, 8))
    return Number.isNaN(week) || Number.isNaN(weekday) ? null : fromWeek(year, week, weekday)
  }
  const month = num(value.slice(4, 6))
  const day = num(value.slice(6, 8))
  return Number.isNaN(month) || Number.isNaN(day) ? null : ymd(year, month, day)
}

/** Dates people enter (YYYY-MM-DD). They are data, never used to order edits. */
export function isoDate(value: unknown, field: string, isRequired = false): string | null {
  if (value === null || value === undefined || value === "") {
    if (isRequired) throw required(field)
    return null
  }
  const parsed = typeof value === "string" && codePoints(value) === 10 ? fromIso(value) : null
  if (parsed === null) {
    throw invalid(
      "bad_date",
      `${field}: ngày không hợp lệ (định dạng NNNN-TT-NN).`,
      `${field}: not a valid date (YYYY-MM-DD).`,
      String(value).slice(0, 40),
    )
  }
  return parsed
}

export function choice(value: unknown, field: string, allowed: readonly string[], code: string): string {
  if (typeof value !== "string" || !allowed.includes(value)) {
    throw invalid(
      code,
      `${field} phải là một trong: ${allowed.join(", ")}.`,
      `${field} must be one of: ${allowed.join(", ")}.`,
      String(value).slice(0, 40),
    )
  }
  return value
}

export function phone(value: unknown): string | null {
  const result = text(value, "phone", 20, false)
  if (result !== null && !PHONE.test(result)) {
    throw invalid("bad_phone", "Số điện thoại không hợp lệ.", "Invalid phone number.", result)
  }
  return result
}

export function cardNumber(value: unknown): string | null {
  let result = text(value, "card_number", 20, false)
  if (result !== null) {
    result = result.replaceAll(" ", "")
    if (!CARD.test(result)) {
      throw invalid("bad_card_number", "Số thẻ đảng không hợp lệ.", "Invalid party card number.", result)
    }
  }
  return result
}

export function citizenId(value: unknown): string | null {
  let result = text(value, "citizen_id", 20, false)
  if (result !== null) {
    result = result.replaceAll(" ", "")
    if (!CITIZEN_ID.test(result)) {
      throw invalid(
        "bad_citizen_id",
        "Số căn cước công dân phải có 12 (hoặc 9) chữ số.",
        "A citizen ID number has 12 (or 9) digits.",
        result,
      )
    }
  }
  return result
}

export function contentHash(value: unknown): string {
  if (typeof value !== "string" || !SHA256.test(value)) {
    throw invalid(
      "bad_hash",
      "Mã băm tệp đính kèm phải là SHA-256 (64 ký tự hex).",
      "Attachment hash must be SHA-256 (64 hex characters).",
    )
  }
  return value
}

export function positiveInt(value: unknown, field: string, maximum: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || !(value > 0 && value <= maximum)) {
    throw invalid(
      "bad_number",
      `${field} phải là số nguyên dương tối đa ${maximum}.`,
      `${field} must be a positive integer up to ${maximum}.`,
    )
  }
  return value
}

export function notBefore(earlier: unknown, later: unknown, code: string, vi: string, en: string): void {
  if (truthyStr(earlier) && truthyStr(later) && (later as string) < (earlier as string)) {
    throw invalid(code, vi, en, `${String(earlier)} > ${String(later)}`)
  }
}

function truthyStr(value: unknown): boolean {
  return typeof value === "string" ? value !== "" : value !== null && value !== undefined && value !== false
}
