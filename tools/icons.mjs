// icons.mjs: draws the demo's app icons (PNG, no dependencies, no network): three rounded bars of
// the ternary values -1, 0, +1 on a dark rounded square. writeIcons(dir) writes the sizes the web app
// manifest and index.html name. Rendered with 4x4 supersampling; the PNG encoder is the minimum
// (8-bit RGBA, one IDAT, zlib from node:zlib).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const CRC_TABLE = (() => {
    const t = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
        let c = n;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        t[n] = c >>> 0;
    }
    return t;
})();

function crc32(buf) {
    let c = 0xffffffff;
    for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
    const len = Buffer.alloc(4), crc = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
}

/** RGBA pixels (Uint8Array w*h*4) -> PNG bytes. */
export function encodePNG(w, h, rgba) {
    const raw = Buffer.alloc((w * 4 + 1) * h);
    for (let y = 0; y < h; y++) {
        raw[y * (w * 4 + 1)] = 0;                               // filter: none
        Buffer.from(rgba.buffer, rgba.byteOffset + y * w * 4, w * 4).copy(raw, y * (w * 4 + 1) + 1);
    }
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4);
    ihdr[8] = 8; ihdr[9] = 6; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;   // 8-bit RGBA
    return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr),
        chunk('IDAT', zlib.deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

// signed distance to a rounded rectangle centred at (cx, cy) with half sizes (hw, hh) and radius r
function roundRect(x, y, cx, cy, hw, hh, r) {
    const qx = Math.abs(x - cx) - hw + r, qy = Math.abs(y - cy) - hh + r;
    return Math.min(Math.max(qx, qy), 0) + Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) - r;
}

const BG = [24, 28, 52], BARS = [[240, 112, 96], [150, 160, 190], [72, 200, 170]];

/**
 * One icon of size px. maskable: full-bleed background and the bars inside the 80% safe zone;
 * otherwise a rounded square with a transparent corner area.
 */
export function drawIcon(px, { maskable = false } = {}) {
    const out = new Uint8Array(px * px * 4);
    const S = 4;                                                 // supersampling per axis, at edges only
    const scale = maskable ? 0.7 : 0.84;                         // the bars' box relative to the icon
    const hMax = 0.3 * scale, base = 0.5 + hMax;                 // bars stand on one baseline, centred
    const bars = [-1, 0, 1].map((v, i) => ({ cx: 0.5 + (i - 1) * 0.2 * scale, h: (0.1 + 0.1 * (v + 1)) * scale, col: BARS[i] }));
    // colour at (u, v) and the distance to the nearest edge
    const sample = (u, v) => {
        let col = null, edge = Infinity;
        const dBg = maskable ? -1 : roundRect(u, v, 0.5, 0.5, 0.5, 0.5, 0.22);
        edge = Math.min(edge, Math.abs(dBg));
        if (dBg <= 0) col = BG;
        for (const bar of bars) {
            const d = roundRect(u, v, bar.cx, base - bar.h, 0.065 * scale, bar.h, 0.06 * scale);
            edge = Math.min(edge, Math.abs(d));
            if (d <= 0 && dBg <= 0) col = bar.col;
        }
        return [col, edge];
    };
    for (let y = 0; y < px; y++) {
        for (let x = 0; x < px; x++) {
            const o = (y * px + x) * 4;
            const [c0, edge] = sample((x + 0.5) / px, (y + 0.5) / px);
            if (edge > 1.5 / px) {                              // far from every edge: one sample is exact
                if (c0) { out[o] = c0[0]; out[o + 1] = c0[1]; out[o + 2] = c0[2]; out[o + 3] = 255; }
                continue;
            }
            let r = 0, g = 0, b = 0, a = 0;
            for (let sy = 0; sy < S; sy++) {
                for (let sx = 0; sx < S; sx++) {
                    const [col] = sample((x + (sx + 0.5) / S) / px, (y + (sy + 0.5) / S) / px);
                    if (col) { r += col[0]; g += col[1]; b += col[2]; a++; }
                }
            }
            if (!a) continue;
            out[o] = Math.round(r / a); out[o + 1] = Math.round(g / a); out[o + 2] = Math.round(b / a);
            out[o + 3] = Math.round(255 * a / (S * S));
        }
    }
    return out;
}

/** The icon files of the demo (names used by web/manifest.webmanifest and web/index.html). */
export const ICONS = [
    { file: 'icon-192.png', px: 192 }, { file: 'icon-512.png', px: 512 },
    { file: 'maskable-512.png', px: 512, maskable: true }, { file: 'apple-touch-icon.png', px: 180, maskable: true },
    { file: 'favicon-32.png', px: 32 },
];

export function writeIcons(dir) {
    fs.mkdirSync(dir, { recursive: true });
    for (const ic of ICONS) fs.writeFileSync(path.join(dir, ic.file), encodePNG(ic.px, ic.px, drawIcon(ic.px, ic)));
}
