// Node has no IndexedDB: the SDK's stores run on fake-indexeddb in tests (the browser tests
// use Chromium's real one). The automerge wasm is loaded from the package, as the app loads it
// by URL.
import "fake-indexeddb/auto"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { initializeWasm } from "@automerge/automerge/slim"

const require = createRequire(import.meta.url)
await initializeWasm(readFileSync(require.resolve("@automerge/automerge/automerge.wasm")))
