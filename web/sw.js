// sw.js: the demo's service worker. It precaches the whole built tree (app shell, the package's
// modules, the wasm builds, the embedded model pair: the list and a content version are filled in by
// tools/build_web.mjs), so that after one visit the app loads and chats with no network.
//
// - install: every file is fetched once (or copied from the previous version's cache when its hash is
//   unchanged, so an app update does not download the models again); progress goes to the pages as
//   {type: 'trit-precache', loaded, total, done} messages.
// - fetch: same-origin GETs are answered from the cache, else from the network (nothing else is
//   cached here; models loaded by URL are cached by the package's loader in its own Cache API cache).
//   Other origins go straight to the network.
// - Cross-origin isolation: responses it serves get COOP/COEP/CORP headers when they lack them, so on
//   a static host that cannot send headers the page becomes cross-origin isolated (threads) from the
//   second load on. Under tools/serve.mjs the server already sends them.
// - activate: caches of older versions are deleted, open pages are claimed.

const PRECACHE = null; // filled in by tools/build_web.mjs
const PREFIX = 'trit-demo-';
const CACHE = PREFIX + PRECACHE.version;
const HASH_HEADER = 'x-trit-sw-hash';

const scoped = p => new URL(p, self.registration.scope).href;

async function tell(msg) {
    for (const c of await self.clients.matchAll({ includeUncontrolled: true, type: 'window' })) c.postMessage(msg);
}

/** The response for url with this hash from an older version's cache, or null. */
async function fromOldCaches(url, hash) {
    for (const name of await caches.keys()) {
        if (!name.startsWith(PREFIX) || name === CACHE) continue;
        const r = await (await caches.open(name)).match(url);
        if (r && r.headers.get(HASH_HEADER) === hash) return r;
    }
    return null;
}

async function precache() {
    const cache = await caches.open(CACHE);
    const total = PRECACHE.files.reduce((s, f) => s + f[1], 0);
    let loaded = 0, last = 0;
    const report = (force = false) => {
        const t = Date.now();
        if (force || t - last > 100) { last = t; tell({ type: 'trit-precache', loaded, total, done: false }); }
    };
    for (const [path, size, hash] of PRECACHE.files) {
        const url = scoped(path);
        if (await cache.match(url)) { loaded += size; continue; }          // an earlier, interrupted install
        const old = await fromOldCaches(url, hash);
        if (old) { await cache.put(url, old); loaded += size; report(); continue; }
        const r = await fetch(url, { cache: 'reload' });
        if (!r.ok) throw new Error(`precaching ${path}: HTTP ${r.status}`);
        const headers = new Headers(r.headers);
        headers.set(HASH_HEADER, hash);
        // the body streams into the cache, counted on the way (no second copy in memory)
        const counted = r.body.pipeThrough(new TransformStream({
            transform(chunk, ctl) { loaded += chunk.length; report(); ctl.enqueue(chunk); },
        }));
        await cache.put(url, new Response(counted, { status: 200, headers }));
    }
    await tell({ type: 'trit-precache', loaded: total, total, done: true, version: PRECACHE.version });
}

self.addEventListener('install', e => {
    e.waitUntil(precache().then(() => self.skipWaiting()).catch(async err => {
        await tell({ type: 'trit-precache', error: String(err && err.message || err) });
        throw err;
    }));
});

self.addEventListener('activate', e => {
    e.waitUntil((async () => {
        for (const name of await caches.keys()) if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
        await self.clients.claim();
    })());
});

const ISOLATION = {
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-embedder-policy': 'require-corp',
    'cross-origin-resource-policy': 'same-origin',
};

function isolated(r) {
    if (!r || r.type === 'opaque' || r.type === 'opaqueredirect' || r.status === 0) return r;
    if (r.headers.get('cross-origin-embedder-policy')) return r;
    const headers = new Headers(r.headers);
    for (const [k, v] of Object.entries(ISOLATION)) headers.set(k, v);
    return new Response(r.body, { status: r.status, statusText: r.statusText, headers });
}

self.addEventListener('fetch', e => {
    const req = e.request;
    if (req.method !== 'GET') return;
    const url = new URL(req.url);
    if (url.origin !== self.location.origin) return;
    e.respondWith((async () => {
        const cache = await caches.open(CACHE);
        let r = null;
        if (req.mode === 'navigate') {
            const rel = url.href.slice(self.registration.scope.length).replace(/[?#].*$/, '');
            if (rel === '' || rel === 'index.html') r = await cache.match(scoped('index.html'));
        }
        if (!r) r = await cache.match(req, { ignoreSearch: true, ignoreVary: true });
        return isolated(r || await fetch(req));
    })());
});
