/** Reaching a document's containers and records, with the schema's refusals. */

import { invalid } from "../rules/errors.js"
import { isMapObj } from "./values.js"

export type Doc = Record<string, unknown>

/** A top-level container; missing means the document predates it (wait for the migration). */
export function container(doc: Doc, name: string): Record<string, unknown> {
  const obj = doc[name]
  if (!isMapObj(obj)) {
    throw invalid(
      "schema_outdated",
      `Tài liệu chưa có mục '${name}': hãy đồng bộ để nhận bản cập nhật cấu trúc.`,
      `Document has no '${name}' yet: sync to receive the schema migration.`,
    )
  }
  return obj
}

/** A child map object, or null (also when the key holds a scalar). */
export function child(obj: unknown, key: string): Record<string, unknown> | null {
  if (!isMapObj(obj) || !Object.prototype.hasOwnProperty.call(obj, key)) return null
  const value = obj[key]
  return isMapObj(value) ? value : null
}

export function childList(obj: unknown, key: string): unknown[] | null {
  if (!isMapObj(obj)) return null
  const value = obj[key]
  return Array.isArray(value) ? value : null
}

/** The same path inside the writable document of a change callback. */
export function reach(d: Doc, path: string[]): Record<string, unknown> {
  let node: unknown = d
  for (const key of path) node = (node as Record<string, unknown>)[key]
  return node as Record<string, unknown>
}
