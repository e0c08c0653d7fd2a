import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { defineConfig, type Plugin } from "vite"

// The offline app, built into dist/app and served by the server at /app/ (syncd/web/app_shell.py).
// The automerge wasm is loaded by URL (the /slim entries + initializeWasm), so no wasm plugin
// is needed; the service worker gets the list of every built file to keep.
function serviceWorker(): Plugin {
  return {
    name: "sotay-service-worker",
    apply: "build",
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle).filter(name => !name.endsWith(".map"))
      const precache = ["./", "./manifest.webmanifest", "./icon.svg", ...files.filter(f => f !== "index.html").map(f => `./${f}`)]
      const version = createHash("sha256").update(files.sort().join("\n")).update(JSON.stringify(Object.values(bundle).map(b => ("code" in b ? b.code.length : 0)))).digest("hex").slice(0, 12)
      const template = readFileSync(new URL("./app/sw.template.js", import.meta.url), "utf8")
      this.emitFile({
        type: "asset",
        fileName: "sw.js",
        source: template.replace("__VERSION__", version).replace("__PRECACHE__", JSON.stringify(precache)),
      })
    },
  }
}

export default defineConfig({
  root: "app",
  base: "/app/",
  publicDir: "public",
  build: {
    outDir: "../dist/app",
    emptyOutDir: true,
    target: "es2022",
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  plugins: [serviceWorker()],
})
