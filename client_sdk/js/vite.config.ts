import { createHash } from "node:crypto"
import { readFileSync, readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
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

// Each script, style and the wasm also as .gz: the server sends it to browsers that take gzip
// (the wasm is 3.6 MB raw, 1.1 MB packed: minutes against seconds on a 3G link).
function precompress(): Plugin {
  return {
    name: "sotay-precompress",
    apply: "build",
    writeBundle(options) {
      const dir = join(options.dir!, "assets")
      for (const name of readdirSync(dir)) {
        if (/\.(js|css|wasm)$/.test(name)) writeFileSync(join(dir, `${name}.gz`), gzipSync(readFileSync(join(dir, name)), { level: 9 }))
      }
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
  plugins: [serviceWorker(), precompress()],
})
