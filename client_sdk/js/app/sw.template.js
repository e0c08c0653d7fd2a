// The service worker of the offline app: keeps the app shell (HTML, script, styles, the
// automerge wasm, icons) so the app opens with no network after the first visit. The
// documents are not here: they live in IndexedDB. API calls and the websocket are never
// cached. The version and the list of files are filled in by the build (vite.config.ts).
const VERSION = "__VERSION__"
const CACHE = `sotay-app-${VERSION}`
const PRECACHE = __PRECACHE__
const SCOPE = self.registration.scope

self.addEventListener("install", event => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then(cache => cache.addAll(PRECACHE.map(path => new URL(path, SCOPE).toString())))
      .then(() => self.skipWaiting()),
  )
})

self.addEventListener("activate", event => {
  event.waitUntil(
    caches
      .keys()
      .then(keys => Promise.all(keys.filter(k => k.startsWith("sotay-app-") && k !== CACHE).map(k => caches.delete(k))))
      .then(() => self.clients.claim()),
  )
})

self.addEventListener("fetch", event => {
  const request = event.request
  if (request.method !== "GET" || !request.url.startsWith(SCOPE)) return
  if (request.mode === "navigate") {
    // The page: the network when there is one (a new release), else the cached shell.
    event.respondWith(
      fetch(request)
        .then(response => {
          if (response.ok) {
            const copy = response.clone()
            caches.open(CACHE).then(cache => cache.put(new URL("./", SCOPE).toString(), copy))
          }
          return response
        })
        .catch(() => caches.match(new URL("./", SCOPE).toString())),
    )
    return
  }
  // Assets are named by their content: the cached copy is always right.
  event.respondWith(caches.match(request).then(hit => hit ?? fetch(request)))
})
