/** A schema operation checks the current document (raw Automerge values) and returns the
 * mutation to make inside a change; a refusal throws before anything is written. */

import type { Doc } from "../doc/containers.js"

export type Mutation = (d: Doc) => void

export interface OpContext {
  /** Ids for the causal stamps of new entries (random; fixed in the conformance cases). */
  newId: () => string
}
