/** The one place the SDK touches Automerge's API beyond plain reads: applying a schema
 * operation's mutation to a document, on a copy first (a refused write leaves it untouched). */

import * as A from "@automerge/automerge/slim"
import { useSplice } from "../ops/meetings.js"
import type { Mutation } from "../ops/types.js"
import type { Doc } from "./containers.js"

useSplice((d, path, index, del, text) => A.splice(d as A.Doc<unknown>, path, index, del, text))

export function applyMutation<T>(doc: A.Doc<T>, mutation: Mutation): A.Doc<T> {
  return A.change(doc, d => mutation(d as unknown as Doc))
}

export { A }
