/** Python's ``json.dumps(value, sort_keys=True, ensure_ascii=False)``: the causal log keys an
 * entry without an id by a hash of this text, so both runtimes must write it byte for byte. */

import { byCodePoint } from "../rules/access.js"
import { isMap } from "../rules/plain.js"

function str(value: string): string {
  let out = '"'
  for (const ch of value) {
    const code = ch.codePointAt(0)!
    if (ch === '"') out += '\\"'
    else if (ch === "\\") out += "\\\\"
    else if (ch === "\n") out += "\\n"
    else if (ch === "\r") out += "\\r"
    else if (ch === "\t") out += "\\t"
    else if (ch === "\b") out += "\\b"
    else if (ch === "\f") out += "\\f"
    else if (code < 0x20) out += "\\u" + code.toString(16).padStart(4, "0")
    else out += ch
  }
  return out + '"'
}

export function pyJson(value: unknown): string {
  if (value === null || value === undefined) return "null"
  if (value === true) return "true"
  if (value === false) return "false"
  if (typeof value === "number") return String(value)
  if (typeof value === "bigint") return value.toString()
  if (typeof value === "string") return str(value)
  if (Array.isArray(value)) return "[" + value.map(pyJson).join(", ") + "]"
  if (isMap(value)) {
    const keys = Object.keys(value).sort(byCodePoint)
    return "{" + keys.map(k => `${str(k)}: ${pyJson(value[k])}`).join(", ") + "}"
  }
  return str(String(value))
}
