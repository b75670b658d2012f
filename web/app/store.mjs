// store.mjs: the models this device remembers.
//   - downloads: models loaded from a URL are cached by the package's loader (Cache API, its
//     modelCache()); listed and deleted through that API.
//   - files: a GGUF opened or dropped is copied into the Cache API cache FILES here after it loaded,
//     so it can be picked again later (also offline).
// The built-in pair is not listed here: the service worker keeps it with the app (web/sw.js).
import { modelCache } from '../js/index-browser.mjs';

const FILES = 'trit-demo-files-v1';
const fileKey = (name, size) => `https://trit.files.invalid/${encodeURIComponent(name)}?size=${size}`;

export const hasStorage = () => typeof caches !== 'undefined';

/** [{kind: 'url'|'file', id, name, size, url?}] */
export async function listStored() {
    if (!hasStorage()) return [];
    const out = [];
    const mc = modelCache();
    if (mc) {
        for (const e of await mc.list()) {
            out.push({ kind: 'url', id: e.key, url: e.url, name: basename(e.url), size: e.size });
        }
    }
    const fc = await caches.open(FILES);
    for (const r of await fc.keys()) {
        const u = new URL(r.url);
        const m = await fc.match(r);
        if (!m) continue;
        out.push({ kind: 'file', id: r.url, name: decodeURIComponent(u.pathname.slice(1)), size: Number(m.headers.get('content-length')) || null });
    }
    return out;
}

/**
 * Copies a loaded File into the device's storage (replacing one of the same name and size); returns
 * its id (as listStored() reports it), or null where there is no storage.
 */
export async function saveFile(file) {
    if (!hasStorage()) return null;
    const fc = await caches.open(FILES);
    const id = fileKey(file.name, file.size);
    await fc.put(id, new Response(file, {
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(file.size) },
    }));
    return id;
}

/** A remembered file as a Blob to load (null if it is gone). */
export async function openFile(id) {
    const m = await (await caches.open(FILES)).match(id);
    return m ? m.blob() : null;
}

export async function deleteStored(item) {
    if (item.kind === 'url') await modelCache().delete(item.id);
    else await (await caches.open(FILES)).delete(item.id);
}

/** {usage, quota} in bytes for this site, or null where the browser does not say. */
export async function storageEstimate() {
    if (!navigator.storage || !navigator.storage.estimate) return null;
    try {
        const { usage, quota } = await navigator.storage.estimate();
        return { usage, quota };
    } catch {
        return null;
    }
}

export function basename(u) {
    const m = /([^/?#]+)(?:[?#].*)?$/.exec(String(u));
    return m ? decodeURIComponent(m[1]) : String(u);
}
