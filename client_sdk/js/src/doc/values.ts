/** Plain values out of Automerge JS documents, and writes back key by key (as
 * schema/automerge_io.py): scalar strings are written as ``ImmutableString`` (what the Python
 * side writes and reads), minutes are Text; None deletes a key; a map is filled key by key so
 * fields this client does not know stay where they are. */

import { ImmutableString, isImmutableString } from "@automerge/automerge/slim"
import type { Plain, PlainMap } from "../rules/plain.js"

/** A document (or any part of it) as plain values: ImmutableString and Text both become
 * strings, uint (BigInt) becomes a number. */
export function plain(value: unknown): Plain {
  if (value === null || value === undefined) return null
  if (isImmutableString(value)) return String((value as ImmutableString).val)
  if (typeof value === "string" || typeof value === "boolean") return value
  if (typeof value === "number") return value
  if (typeof value === "bigint") return Number(value)
  if (value instanceof Date) return value.toISOString()
  if (Array.isArray(value)) return value.map(plain)
  if (typeof value === "object") {
    const counter = value as { value?: unknown; increment?: unknown }
    if (typeof counter.increment === "function" && typeof counter.value === "number") return counter.value
    const out: PlainMap = {}
    for (const key of Object.keys(value)) out[key] = plain((value as Record<string, unknown>)[key])
    return out
  }
  return String(value)
}

/** Is ``value`` (raw, from the document) a map object? (Python ``get_obj`` of a Map.) */
export function isMapObj(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !isImmutableString(value) &&
    !(value instanceof Date) &&
    !(value instanceof Uint8Array)
  )
}

type Writable = Record<string, unknown>

function scalar(value: unknown): unknown {
  return typeof value === "string" ? new ImmutableString(value) : value
}

/** Write one plain value; null/undefined deletes the key; maps are written key by key. */
export function put(obj: Writable, key: string, value: unknown): void {
  if (value === null || value === undefined) {
    if (Object.prototype.hasOwnProperty.call(obj, key)) delete obj[key]
  } else if (typeof value === "object" && !Array.isArray(value)) {
    if (!isMapObj(obj[key])) obj[key] = {}
    const child = obj[key] as Writable
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) put(child, k, v)
  } else if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
    obj[key] = scalar(value)
  } else {
    throw new TypeError(`cannot store ${typeof value}`)
  }
}

/** Append a record to a list (history, progress notes, resolutions). */
export function appendMap(list: unknown[], fields: Record<string, unknown>): void {
  const record: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(fields)) {
    if (v !== null && v !== undefined) record[k] = typeof v === "object" ? v : scalar(v)
  }
  list.push(record)
}
