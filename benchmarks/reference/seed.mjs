// Write documents straight into the reference server's storage, as a Repo on that storage does:
// usage: node seed.mjs DATA_DIR < lines of "documentId hexBytes". Prints "seeded N".
import { createInterface } from "node:readline"
import { Repo } from "@automerge/automerge-repo"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"

const repo = new Repo({ storage: new NodeFSStorageAdapter(process.argv[2]), network: [] })
let count = 0
for await (const line of createInterface({ input: process.stdin })) {
  const [docId, hex] = line.trim().split(" ")
  if (!docId) continue
  repo.import(Uint8Array.from(Buffer.from(hex, "hex")), { docId })
  count += 1
  if (count % 500 === 0) await repo.flush()
}
await repo.flush()
await repo.shutdown()
console.log(`seeded ${count}`)
