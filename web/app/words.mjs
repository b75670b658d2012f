// words.mjs: what the demo tells people, in plain words: errors (from the package's TritError codes
// and the browser's own failures) and sizes, rates and routes.

/** Bytes as "1.3 MB". */
export function bytes(n) {
    if (n === null || n === undefined || !Number.isFinite(n)) return '?';
    if (n < 1024) return `${n} B`;
    const u = ['KB', 'MB', 'GB', 'TB'];
    let i = -1;
    do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
    return `${n < 10 ? n.toFixed(1) : Math.round(n)} ${u[i]}`;
}

export function rate(bytesPerS) { return `${bytes(bytesPerS)}/s`; }

export function percent(x) { return `${Math.round(100 * x)}%`; }

/** The route the engine took, for people: "wasm SIMD · 1 thread", "threads (4)", "remote"; kernels
 * (info.model.kernels): "· dot-add" where the core took its dot-add kernels (docs/wasm.md). */
export function route(r, kernels) {
    if (!r) return '–';
    if (r.kind === 'remote') return `remote (${r.baseURL})`;
    // the -mt twins are the same kernels on shared memory (the thread count follows)
    const base = typeof r.build === 'string' ? r.build.replace(/-mt$/, '') : r.build;
    const build = base === 'simd' ? 'SIMD' : base === 'relaxed' ? 'SIMD (relaxed)' : base === 'scalar' ? 'scalar' : base;
    const threads = r.threads ? `threads${r.nThreads ? ` (${r.nThreads})` : ''}` : 'single-thread';
    return `${r.backend}${build ? ` ${build}` : ''} · ${threads}${kernels && kernels.dot_add ? ' · dot-add' : ''}`;
}

const BY_CODE = {
    BAD_MODEL: ['This file is not a model the app can run',
        'It may be damaged or incomplete, or use an architecture or weight format trit does not support ' +
        '(trit runs GGUF files of bitnet, bitnet-b1.58 and llama models with ternary or common float weights).'],
    LOAD_FAILED: ['The model file could not be read', 'The file may have been moved, or the browser refused to read it.'],
    NETWORK: ['The model could not be downloaded',
        'Check the address and the connection. A model on another site can only be loaded if that site allows it (CORS).'],
    INTEGRITY: ['The downloaded file is not the expected one', 'Its checksum does not match, so it was not used or saved.'],
    OUT_OF_MEMORY: ['The model does not fit into memory', 'A model in the browser can use at most 4 GB; try a smaller one.'],
    NO_ROUTE: ['This model cannot run on this device', ''],
    VOCAB_MISMATCH: ['The draft model does not match the main model',
        'Speculative decoding needs a draft with the same vocabulary as the main model.'],
    CONTEXT_LENGTH_EXCEEDED: ['The conversation is too long for this model',
        'It no longer fits into the model\'s context window. Start a new chat.'],
    CHAT_TEMPLATE: ['The model\'s chat format is not supported', ''],
    WORKER_CRASHED: ['The model stopped unexpectedly', 'It will be loaded again with your next message.'],
    UNLOADED: ['The model was unloaded', 'Load a model from the Models panel.'],
    BAD_ARGUMENT: ['A setting is out of range', ''],
    UNSUPPORTED: ['This is not supported', ''],
    REMOTE: ['The remote endpoint answered with an error', ''],
    PROTOCOL: ['The app\'s files do not fit together', 'Reload the page; if that does not help, clear the site\'s data.'],
    INTERNAL: ['Something went wrong inside the engine', 'Please report it with the technical details below.'],
};

/**
 * An error for people: {title, text, detail} (detail: the technical message). `doing` says what was
 * being done ("Loading the model"), used when nothing more specific is known.
 */
export function explain(e, doing = 'That') {
    const detail = e && (e.code ? `${e.code}: ${e.message}` : `${e.name || 'Error'}: ${e.message || e}`) || String(e);
    if (e && e.code && BY_CODE[e.code]) {
        const [title, text] = BY_CODE[e.code];
        return { title, text: text || firstSentence(e.message), detail };
    }
    if (e && e.name === 'QuotaExceededError') {
        return { title: 'The device is out of storage for this site', text: 'Delete saved models to make room.', detail };
    }
    if (e && e.name === 'TypeError' && /fetch|network/i.test(e.message || '')) {
        return { title: 'The network is not reachable', text: 'The app could not fetch a file it needs.', detail };
    }
    return { title: `${doing} failed`, text: firstSentence(e && e.message ? e.message : String(e)), detail };
}

function firstSentence(s) {
    s = String(s || '');
    return s.length > 240 ? `${s.slice(0, 240)}…` : s;
}
