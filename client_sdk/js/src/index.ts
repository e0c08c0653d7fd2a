/** The sotay JavaScript SDK: the same schema, write rules, value checks and conflict rules as
 * the Python SDK (proved by the conformance file), on automerge-repo. */

export { cellConflicts, cellOutcome, type Conflict } from "./conflicts/conflicts.js"
export { checkWrite, checkAttach, type Actor, type Verdict } from "./rules/access.js"
export { checkValues } from "./rules/validation.js"
export { SotayError } from "./rules/errors.js"
export { label, words, LABELS, type Lang } from "./labels.js"
export { Api, type Me, type Enrolled } from "./sdk/api.js"
export { DeviceKey } from "./sdk/identity.js"
export { DeviceStore, type Refusal, type KeptPicture } from "./sdk/store.js"
export { Pictures } from "./sdk/pictures.js"
export { Handbook, type SyncStatus, type ChangeEvent } from "./sdk/handbook.js"
export { SyncClient, wsUrl } from "./sdk/sync.js"
export { OPERATIONS } from "./sdk/operations.js"
export * as readers from "./sdk/readers.js"
