// The reference: a stock automerge-repo 2.5.6 sync server, as automerge-repo-sync-server sets one
// up (a Repo with NodeWSServerAdapter and NodeFSStorageAdapter, a share policy that announces
// nothing), with no permission or schema checks. Usage: node server.mjs HOST PORT DATA_DIR
// Prints "listening PORT" once it accepts connections; stops on SIGTERM.
import { Repo } from "@automerge/automerge-repo"
import { NodeWSServerAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"
import { WebSocketServer } from "ws"

const [host, portText, dataDir] = process.argv.slice(2)
const wss = new WebSocketServer({ host, port: Number(portText) })
const repo = new Repo({
  network: [new NodeWSServerAdapter(wss)],
  storage: new NodeFSStorageAdapter(dataDir),
  peerId: "reference-server",
  sharePolicy: async () => false,
})
wss.on("listening", () => console.log(`listening ${wss.address().port}`))
process.on("SIGTERM", async () => {
  await repo.shutdown()
  process.exit(0)
})
