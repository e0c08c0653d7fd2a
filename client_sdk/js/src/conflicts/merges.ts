/** Which member records were merged into which (conflict_rules/merges.py): follow the
 * ``merged_into`` links; a loop keeps its smallest id; links to unknown ids are ignored. */

import { byCodePoint } from "../rules/access.js"

export function survivors(links: Record<string, unknown>): Record<string, string> {
  const target = new Map<string, string>()
  for (const [m, t] of Object.entries(links)) {
    if (typeof t === "string" && Object.prototype.hasOwnProperty.call(links, t) && t !== m) target.set(m, t)
  }
  const root = new Map<string, string>()
  for (const start of Object.keys(links).sort(byCodePoint)) {
    const path: string[] = []
    let node = start
    while (target.has(node) && !root.has(node) && !path.includes(node)) {
      path.push(node)
      node = target.get(node)!
    }
    let end: string
    if (root.has(node)) end = root.get(node)!
    else if (path.includes(node)) {
      const loop = path.slice(path.indexOf(node))
      end = loop.reduce((a, b) => (byCodePoint(a, b) <= 0 ? a : b))
      for (const member of loop) root.set(member, end)
    } else end = node
    for (const member of path) if (!root.has(member)) root.set(member, end)
  }
  const out: Record<string, string> = {}
  for (const [m, r] of root) if (r !== m) out[m] = r
  return out
}
