/** Plain values: what a cell document holds once read (maps, lists, strings, numbers, booleans,
 * null). The rules work on these only, as the Python rules work on ``schema.automerge_io.plain``. */

export type Plain = null | boolean | number | string | Plain[] | PlainMap
export interface PlainMap {
  [key: string]: Plain
}
export type Path = (string | number)[]

export function isMap(value: unknown): value is PlainMap {
  return typeof value === "object" && value !== null && !Array.isArray(value)
}

export function isList(value: unknown): value is Plain[] {
  return Array.isArray(value)
}

/** Python's ``==`` on plain values (dicts compare without order, lists in order). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    return a.every((item, i) => deepEqual(item, b[i]))
  }
  if (isMap(a)) {
    if (!isMap(b)) return false
    const ka = Object.keys(a)
    if (ka.length !== Object.keys(b).length) return false
    return ka.every(k => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]))
  }
  return false
}

/** ``dict.get``: own keys only (never a prototype's). */
export function get(map: unknown, key: string): Plain | undefined {
  if (!isMap(map) || !Object.prototype.hasOwnProperty.call(map, key)) return undefined
  return map[key]
}

export function has(map: unknown, key: string): boolean {
  return isMap(map) && Object.prototype.hasOwnProperty.call(map, key)
}

/** Python truthiness of a plain value. */
export function truthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === "")
    return false
  if (Array.isArray(value)) return value.length > 0
  if (isMap(value)) return Object.keys(value).length > 0
  return true
}

/** A value found at ``path`` (keys and list indexes), or undefined. */
export function at(doc: unknown, path: Path): Plain | undefined {
  let node: unknown = doc
  for (const key of path) {
    if (isMap(node) && typeof key === "string") node = get(node, key)
    else if (Array.isArray(node) && typeof key === "number" && key < node.length) node = node[key]
    else return undefined
  }
  return node as Plain | undefined
}
