// errors.mjs: the package's one error class (TritError, with a `code`) and its abort error.
//
// Every failure the package reports is a TritError whose `code` says what happened (the list is
// ERROR_CODES below; docs/js.md explains each). Cancellation is not a failure: an aborted request
// rejects with an error whose `name` is 'AbortError' (a DOMException where the platform has one), as
// fetch() does, so `e.name === 'AbortError'` is the one check callers need.

export const ERROR_CODES = Object.freeze({
    BAD_ARGUMENT: 'a parameter is missing, of the wrong type or out of range',
    UNSUPPORTED: 'a feature or parameter this engine does not implement',
    LOAD_FAILED: 'the model source could not be read (file, URL, Blob)',
    BAD_MODEL: 'the file is not a model trit can run (malformed, unsupported arch or tensor type)',
    INTEGRITY: 'the downloaded bytes do not have the expected SHA-256',
    NETWORK: 'a download failed (HTTP error, connection lost after the retries)',
    OUT_OF_MEMORY: 'the model, KV cache or a buffer does not fit into wasm memory',
    VOCAB_MISMATCH: 'the draft model does not share the target model\'s vocabulary',
    CONTEXT_LENGTH_EXCEEDED: 'the prompt does not fit into the context window',
    CHAT_TEMPLATE: 'the chat template is missing or unknown, or the messages are malformed',
    WORKER_CRASHED: 'a model worker died; the request failed and the engine must be reloaded',
    UNLOADED: 'the engine was unloaded',
    NO_ROUTE: 'the model cannot run here and no remote endpoint is configured',
    REMOTE: 'the remote OpenAI-compatible endpoint answered with an error',
    PROTOCOL: 'a worker message had the wrong protocol version or shape',
    INTERNAL: 'a bug: an invariant of the engine did not hold',
});

export class TritError extends Error {
    /**
     * @param {keyof typeof ERROR_CODES} code
     * @param {string} message
     * @param {{cause?: unknown, details?: object}} [opts]
     */
    constructor(code, message, opts = {}) {
        super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
        this.name = 'TritError';
        this.code = code;
        if (opts.details) this.details = opts.details;
    }
}

/** The error an aborted operation rejects with: name 'AbortError' (the signal's reason if it is one). */
export function abortError(signal) {
    const r = signal && signal.reason;
    if (r && typeof r === 'object' && r.name === 'AbortError') return r;
    const msg = 'the operation was aborted';
    if (typeof DOMException === 'function') return new DOMException(msg, 'AbortError');
    const e = new Error(msg);
    e.name = 'AbortError';
    return e;
}

export function isAbortError(e) {
    return !!e && typeof e === 'object' && e.name === 'AbortError';
}

/** Throws the abort error if the signal is aborted. */
export function throwIfAborted(signal) {
    if (signal && signal.aborted) throw abortError(signal);
}

/** An error as plain data for postMessage (structured clone keeps neither class nor code reliably). */
export function serializeError(e) {
    if (e && typeof e === 'object') {
        return { name: e.name || 'Error', code: e.code, message: e.message || String(e), details: e.details,
            stack: e.stack };
    }
    return { name: 'Error', message: String(e) };
}

/** The inverse of serializeError: a TritError (or AbortError) again. */
export function deserializeError(d) {
    if (d && d.name === 'AbortError') return abortError(null);
    if (d && d.code && Object.prototype.hasOwnProperty.call(ERROR_CODES, d.code)) {
        const e = new TritError(d.code, d.message, { details: d.details });
        if (d.stack) e.stack = `${e.name} [${d.code}]: ${d.message}\n    (in worker) ${d.stack.split('\n').slice(1).join('\n')}`;
        return e;
    }
    return new TritError('INTERNAL', `${(d && d.name) || 'Error'}: ${(d && d.message) || 'unknown error'}`);
}
