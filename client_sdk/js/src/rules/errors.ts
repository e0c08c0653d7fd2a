/** Refusals with a stable code and words for people, Vietnamese first (schema/errors.py). */

export class SotayError extends Error {
  constructor(
    readonly code: string,
    readonly messageVi: string,
    readonly messageEn: string,
    readonly detail: string = "",
  ) {
    super(`${code}: ${messageEn}${detail ? ` (${detail})` : ""}`)
    this.name = "SotayError"
  }
}

export class ValidationError extends SotayError {}

export function invalid(code: string, vi: string, en: string, detail = ""): ValidationError {
  return new ValidationError(code, vi, en, detail)
}

export function malformed(part: string): ValidationError {
  return invalid(
    "malformed_record",
    `Hồ sơ thiếu mục '${part}' (được tạo bởi công cụ khác).`,
    `Record lacks its '${part}' list (made by another tool).`,
  )
}
