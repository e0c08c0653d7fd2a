/** Which changes a set of heads contains: the device compares its own writes with the heads
 * the server reports (acknowledgement, and the base a reset goes back to). */

import * as A from "@automerge/automerge/slim"

export interface ChangeInfo {
  hash: string
  deps: string[]
  bytes: Uint8Array
}

/** Every change of ``doc`` in causal order. */
export function changes(doc: A.Doc<unknown>): ChangeInfo[] {
  return A.getAllChanges(doc).map(bytes => {
    const decoded = A.decodeChange(bytes)
    return { hash: decoded.hash as string, deps: decoded.deps as string[], bytes }
  })
}

/** The changes ``heads`` contain (their ancestors and themselves), among those known here. */
export function ancestry(all: ChangeInfo[], heads: string[]): Set<string> {
  const byHash = new Map(all.map(c => [c.hash, c]))
  const seen = new Set<string>()
  const stack = heads.filter(h => byHash.has(h))
  while (stack.length > 0) {
    const h = stack.pop()!
    if (seen.has(h)) continue
    seen.add(h)
    stack.push(...byHash.get(h)!.deps.filter(d => byHash.has(d)))
  }
  return seen
}

/** ``roots`` and every change that depends on one of them. */
export function descendants(all: ChangeInfo[], roots: Set<string>): Set<string> {
  const out = new Set(roots)
  for (const c of all) if (c.deps.some(d => out.has(d))) out.add(c.hash)
  return out
}
