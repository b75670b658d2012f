// Types of the trit package (js/index-node.mjs and js/index-browser.mjs export the same API).
// docs/js.md is the reference with examples.

/** A model: URL (string or URL), File/Blob, ArrayBuffer or typed array (transferred to the worker),
 * a path (Node), or an object naming one of those plus an expected SHA-256. */
export type ModelSource =
    | string
    | URL
    | Blob
    | ArrayBuffer
    | ArrayBufferView
    | {
          url?: string | URL;
          path?: string;
          blob?: Blob;
          buffer?: ArrayBuffer | ArrayBufferView;
          /** expected SHA-256 (64 hex digits): a mismatch is an INTEGRITY error and nothing is cached */
          sha256?: string;
          /** size in bytes if known (helps the router before downloading) */
          size?: number;
          name?: string;
          /** extra request headers for a URL */
          headers?: Record<string, string>;
          /** download attempts after the first (default 3) */
          retries?: number;
      };

export interface ProgressEvent {
    /** 'target' | 'draft' while loading, 'engine' for the final 'ready' */
    model: 'target' | 'draft' | 'engine';
    phase: 'download' | 'cache' | 'read' | 'ready';
    loaded: number;
    total: number | null;
    /** bytes per second since this phase started */
    rate: number;
    name?: string;
    url?: string;
}

export interface SpeculativeOptions {
    /** draft tokens per round (the start value when adaptive), 1..32, default 4 */
    k?: number;
    /** largest K the adaptive chooser may pick, default 8 */
    maxK?: number;
    /** adapt K to the observed acceptance rate and timings (default true) */
    adaptive?: boolean;
    /** let the draft continue while the target verifies (default: true with workers) */
    pipeline?: boolean;
    /** false: decode with the target alone */
    enabled?: boolean;
}

export interface RemoteOptions {
    /** e.g. 'http://127.0.0.1:8080/v1' */
    baseURL: string;
    apiKey?: string;
    /** the model name sent to the endpoint */
    model?: string;
    headers?: Record<string, string>;
    /** retries after a 429 or 503 answer, each after the server's Retry-After (at most 30 s); default 2 */
    retries?: number;
}

export type ChatTemplateFunction = (
    messages: { role: 'system' | 'user' | 'assistant'; content: string }[],
    opts: { addGenerationPrompt: boolean; bos: string; eos: string },
) => string;

export interface EngineOptions {
    /** default (with no `remote`): the embedded pair shipped in models/ (its draft too, unless `draft` is given) */
    model?: ModelSource;
    /** a small model with the same vocabulary: enables speculative decoding; null or false: none */
    draft?: ModelSource | null | false;
    onProgress?: (e: ProgressEvent) => void;
    /** aborts loading (rejects with an AbortError) */
    signal?: AbortSignal;
    /** run each model in its own worker (default true); false runs them in this thread */
    workers?: boolean;
    /** 'auto' (default: WebGPU where a hardware adapter exists and the model fits its limits, else
     * wasm) | 'wasm' | 'webgpu' (forced: no fallback at load), or per model: { target, draft } */
    backend?: Backend | { target?: Backend; draft?: Backend };
    /** WebGPU backend tuning and tests (Node probes WebGPU only when this or backend 'webgpu' is given) */
    webgpu?: WebGPUOptions;
    /** engine events, e.g. { type: 'backend-fallback', model, from: 'webgpu', to: 'wasm', reason } after a device loss */
    onEvent?: (e: EngineEvent) => void;
    /** wasm build: 'simd' | 'scalar' | ... | a .wasm path/URL (default: the best this runtime runs) */
    wasm?: string;
    /** matmul threads for the target model (a threaded wasm build with shared memory; else 1). Default:
     *  one per core, at most 4, where shared memory exists (Node; cross-origin-isolated pages), else 1 */
    threads?: number;
    /** KV cache positions (default min(n_ctx_train, 4096)) */
    contextLength?: number;
    /** KV cache type (default 'f16', as llama.cpp) */
    kvType?: 'f16' | 'f32';
    /** tokens per internal forward chunk (default 64) */
    batch?: number;
    /** 'llama3' | 'bitnet' | 'chatml' | 'llama2' | 'llama2-sys' | ... | a Jinja template of those families | a function */
    chatTemplate?: string | ChatTemplateFunction;
    speculative?: SpeculativeOptions;
    /** URL downloads: browsers default to the Cache API (true); Node caches only when given true or a directory */
    cache?: boolean | string | { dir: string } | { name: string };
    /** the `model` field of responses (default: general.name of the GGUF) */
    name?: string;
    /** an OpenAI-compatible endpoint to use when the model cannot run here (never used otherwise) */
    remote?: RemoteOptions;
    /** 'auto' (default): local if possible, else remote if configured; 'local'; 'remote' */
    route?: 'auto' | 'local' | 'remote';
}

export type Backend = 'auto' | 'wasm' | 'webgpu';

export interface WebGPUOptions {
    /** also use software adapters (SwiftShader, llvmpipe), which auto skips because wasm is faster */
    allowFallbackAdapter?: boolean;
    /** pretend the adapter's binding limit is this small (tests: forces split tensors / does-not-fit) */
    maxBindingBytes?: number;
    /** GPU memory budget for the fit check (WebGPU does not report the adapter's memory) */
    maxBytes?: number;
    /** KV cache type on the GPU (default: f16 where shader-f16 exists, else f32; kvType 'f32' forces f32) */
    kv?: 'auto' | 'f16' | 'f32';
    /** kernel shape: 'gpu' (wide workgroups) or 'cpu' (one thread per row; default for software adapters) */
    lanes?: 'gpu' | 'cpu';
}

export interface EngineEvent {
    type: 'backend-fallback';
    model: 'target' | 'draft';
    from: 'webgpu';
    to: 'wasm';
    reason: string;
}

export interface SamplingParams {
    /** default 1 (OpenAI); 0 = greedy */
    temperature?: number;
    top_p?: number;
    /** extension: 0 = off */
    top_k?: number;
    /** extension: 0 = off */
    min_p?: number;
    /** extension (llama.cpp's rule), 1 = off; alias repeat_penalty */
    repetition_penalty?: number;
    seed?: number;
    max_tokens?: number | null;
    max_completion_tokens?: number | null;
    stop?: string | string[] | null;
    stream?: boolean;
    stream_options?: { include_usage?: boolean } | null;
    /** extension: choices[].token_ids with the generated ids */
    return_token_ids?: boolean;
    /** extension: per-request override, false = target only */
    speculative?: boolean | SpeculativeOptions;
    /** accepted for compatibility; must be 0 / 1 / absent */
    n?: number;
    presence_penalty?: number;
    frequency_penalty?: number;
    model?: string;
    user?: string;
}

export interface ChatMessage {
    role: 'system' | 'developer' | 'user' | 'assistant';
    content: string | { type: 'text'; text: string }[] | null;
}

export interface ChatCompletionParams extends SamplingParams {
    messages: ChatMessage[];
}

export interface CompletionParams extends SamplingParams {
    /** text, or token ids (no BOS is added to ids) */
    prompt: string | number[] | [string];
}

export interface SpeculativeStats {
    k: number;
    adaptive: boolean;
    pipeline: boolean;
    rounds: number;
    target_only_steps: number;
    proposed: number;
    accepted: number;
    acceptance_rate: number;
    /** draft tokens accepted per round */
    mean_accepted_length: number;
    /** tokens produced per target pass (accepted + 1) */
    tokens_per_round: number;
    pipeline_hits: number;
    draft_ms: number;
    target_ms: number;
    k_hist: Record<string, number>;
}

export interface Usage {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    prompt_tokens_details?: { cached_tokens: number };
    extra?: {
        prefill_ms: number;
        decode_ms: number;
        total_ms: number;
        prefill_tokens_per_s: number;
        decode_tokens_per_s: number;
        tokens_per_s: number;
        /** the backend each model ran on for this request */
        backend: { target: string | null; draft: string | null };
        speculative: SpeculativeStats | null;
    };
}

export type FinishReason = 'stop' | 'length';

export interface ChatCompletion {
    id: string;
    object: 'chat.completion';
    created: number;
    model: string;
    choices: {
        index: number;
        message: { role: 'assistant'; content: string };
        logprobs: null;
        finish_reason: FinishReason;
        token_ids?: number[];
    }[];
    usage: Usage;
}

export interface ChatCompletionChunk {
    id: string;
    object: 'chat.completion.chunk';
    created: number;
    model: string;
    choices: {
        index: number;
        delta: { role?: 'assistant'; content?: string };
        logprobs: null;
        finish_reason: FinishReason | null;
        token_ids?: number[];
    }[];
    /** on the chunk with finish_reason (and the include_usage chunk, whose choices are []) */
    usage?: Usage;
}

export interface Completion {
    id: string;
    object: 'text_completion';
    created: number;
    model: string;
    choices: { index: number; text: string; logprobs: null; finish_reason: FinishReason | null; token_ids?: number[] }[];
    usage?: Usage;
}

/** An async iterable of chunks; `controller.abort()` stops it (as OpenAI's Stream). */
export interface Stream<T> extends AsyncIterable<T> {
    controller: AbortController;
}

export interface RequestOptions {
    /** aborts the request: the promise / iteration rejects with an error named 'AbortError' */
    signal?: AbortSignal;
}

export interface ModelInfo {
    backend: string;
    build: string;
    threads: number;
    arch: string;
    name: string | null;
    n_vocab: number;
    n_ctx_train: number;
    n_ctx: number;
    n_embd: number;
    n_layer: number;
    n_head: number;
    n_head_kv: number;
    n_ff: number;
    bos: number;
    eos: number;
    eot: number;
    add_bos: number;
    bos_text: string;
    eos_text: string;
    n_params: number;
    weight_bytes: number;
    file_bytes: number;
    sha256: string | null;
    from_cache: boolean;
    chat_template: string | null;
    tokenizer_model: string | null;
    tokenizer_pre: string | null;
    heap_bytes: number;
    /** wasm: what the core chose at load (docs/wasm.md, "Kernels"): the relaxed dot-add kernels on or off,
     * and how many ternary matrices have the TL (table lookups) and TL4 (dot-add) layouts */
    kernels?: { dot_add: boolean; tl: number; tl4: number } | null;
    /** WebGPU backend only: what the GPU runs (null on wasm) and why WebGPU is not used (null if it is) */
    webgpu?: { backend: 'webgpu'; adapter: string; kv: 'f16' | 'f32'; dot4: boolean; nCtx: number; weightBytes: number; maxBinding: number } | null;
    fallback?: string | null;
}

export interface Capabilities {
    platform: 'node' | 'browser';
    wasm: boolean;
    simd: boolean;
    threads: boolean;
    crossOriginIsolated: boolean;
    sharedArrayBuffer: boolean;
    webgpu: boolean;
    /** the adapter the router saw (null without one) */
    webgpuAdapter: { name: string; fallback: boolean; maxStorageBufferBindingSize: number; shaderF16: boolean } | null;
    workers: boolean;
    hardwareConcurrency: number;
    memoryBytes: number | null;
    freeMemoryBytes: number | null;
    wasmMaxBytes: number;
    backends: string[];
    [k: string]: unknown;
}

export interface Route {
    kind: 'local' | 'remote';
    /** the target's backend; backends/forced per model */
    backend?: string;
    backends?: { target: string; draft: string };
    forced?: { target: boolean; draft: boolean };
    /** the wasm build really loaded (null before loading when not asked for) */
    build?: string | null;
    /** the target's matmuls run on more than one thread (a threaded wasm build) */
    threads?: boolean;
    /** matmul threads of the target: asked for (before loading), then really running */
    nThreads?: number;
    baseURL?: string;
    model?: string | null;
    reason: string;
    capabilities: Capabilities;
    sizes: { target: number | null; draft: number | null };
}

export interface Engine {
    chat: {
        completions: {
            create(body: ChatCompletionParams & { stream: true }, opts?: RequestOptions): Promise<Stream<ChatCompletionChunk>>;
            create(body: ChatCompletionParams & { stream?: false | null }, opts?: RequestOptions): Promise<ChatCompletion>;
            create(body: ChatCompletionParams, opts?: RequestOptions): Promise<ChatCompletion | Stream<ChatCompletionChunk>>;
        };
    };
    completions: {
        create(body: CompletionParams & { stream: true }, opts?: RequestOptions): Promise<Stream<Completion>>;
        create(body: CompletionParams & { stream?: false | null }, opts?: RequestOptions): Promise<Completion>;
        create(body: CompletionParams, opts?: RequestOptions): Promise<Completion | Stream<Completion>>;
    };
    /** token ids of text (addSpecial: BOS as the model says, default true; parseSpecial: control-token texts) */
    tokenize(text: string, opts?: { addSpecial?: boolean; parseSpecial?: boolean }): Promise<number[]>;
    detokenize(ids: ArrayLike<number>): Promise<string>;
    /** the prompt text messages render to (no BOS) */
    applyChatTemplate(messages: ChatMessage[], opts?: { addGenerationPrompt?: boolean }): string;
    /** new workers, models loaded again from the same sources (after a crash, or to start fresh) */
    reload(opts?: { signal?: AbortSignal }): Promise<void>;
    /** terminates the workers; later calls throw UNLOADED */
    unload(): Promise<void>;
    readonly info: {
        model: ModelInfo | null;
        draft: ModelInfo | null;
        route: Route;
        workers?: boolean;
        speculative?: SpeculativeOptions;
        state: 'loading' | 'ready' | 'crashed' | 'unloaded';
        remote?: { baseURL: string; model: string | null };
    };
    /** usage.extra of the last completed request */
    readonly lastStats: Usage['extra'] | null;
}

export function createEngine(opts: EngineOptions): Promise<Engine>;

/** Browsers: the Cache API cache URL downloads are kept in (default name 'trit-models-v1'); null without the Cache API. */
export function modelCache(name?: string): {
    list(): Promise<{ key: string; url: string; sha256: string | null; size: number | null }[]>;
    delete(key: string): Promise<void>;
    keys(): Promise<string[]>;
} | null;
export function detectCapabilities(opts?: Pick<EngineOptions, 'backend' | 'webgpu'>): Promise<Capabilities>;

export type ErrorCode =
    | 'BAD_ARGUMENT' | 'UNSUPPORTED' | 'LOAD_FAILED' | 'BAD_MODEL' | 'INTEGRITY' | 'NETWORK' | 'OUT_OF_MEMORY'
    | 'VOCAB_MISMATCH' | 'CONTEXT_LENGTH_EXCEEDED' | 'CHAT_TEMPLATE' | 'WORKER_CRASHED' | 'UNLOADED' | 'NO_ROUTE'
    | 'REMOTE' | 'PROTOCOL' | 'INTERNAL' | 'BAD_DATA';

/** The one error class; aborts are errors named 'AbortError' instead. */
export class TritError extends Error {
    constructor(code: ErrorCode, message: string, opts?: { cause?: unknown; details?: object });
    name: 'TritError';
    code: ErrorCode;
    details?: object;
}
export const ERROR_CODES: Readonly<Record<ErrorCode, string>>;
export function isAbortError(e: unknown): boolean;

export const TEMPLATES: Readonly<Record<string, { render(messages: { role: string; content: string }[], addGenerationPrompt: boolean): string; stop: string[] }>>;
/** the template family of a Jinja chat template or name, or null */
export function detectTemplate(template: string): string | null;
export const PROTOCOL_VERSION: number;

// ---- evaluate (Node only; docs/eval.md): the objects `trit eval <kind> --json` prints ----------------

interface EvaluateCommon {
    /** a GGUF path or its bytes */
    model: string | ArrayBuffer | ArrayBufferView;
    batch?: number;
    kv?: 'f16' | 'f32';
    onProgress?: (p: { done: number; total: number }) => void;
    signal?: AbortSignal;
    /** wasm build, default 'simd' where supported */
    build?: 'simd' | 'scalar';
}
export interface EvaluatePplOptions extends EvaluateCommon {
    kind: 'ppl';
    text?: string | Uint8Array;
    file?: string;
    /** chunk length (>= 4) */
    ctx: number;
    /** only the first N chunks */
    chunks?: number;
    /** write the saved-logits file here (for a later kind: 'kld') */
    saveLogits?: string;
}
export interface EvaluateKldOptions extends EvaluateCommon {
    kind: 'kld';
    /** a saved-logits file (path or bytes) from `trit eval ppl --save-logits` or saveLogits */
    base: string | ArrayBuffer | ArrayBufferView;
    chunks?: number;
}
export interface EvaluateMcOptions extends EvaluateCommon {
    kind: 'mc';
    /** a JSONL path, JSONL text/bytes, or questions (objects or lines) in any layout of docs/eval.md */
    task: string | Uint8Array | Array<object | string>;
    ctx?: number;
    limit?: number;
    /** per-question results in .questions */
    details?: boolean;
}
export interface PplResult {
    command: 'ppl'; n_tokens: number; n_ctx: number; n_chunk: number; n_scored: number;
    ppl: number; ppl_err: number; nll_mean: number; save_logits: string | null;
}
export interface KldResult {
    command: 'kld'; base: string | null; n_chunk: number; n: number;
    ppl: number; ppl_err: number; ppl_base: number; ppl_base_err: number; ppl_cor: number;
    ln_ppl_ratio: number; ln_ppl_ratio_err: number; ppl_ratio: number; ppl_ratio_err: number; ppl_diff: number; ppl_diff_err: number;
    kld: { mean: number; err: number; max: number; 'p99.9': number; p99: number; median: number; p10: number; p5: number; p1: number; min: number };
    dp: { mean: number; err: number; max: number; 'p99.9': number; p99: number; p95: number; p90: number; p75: number; median: number;
          p25: number; p10: number; p5: number; p1: number; 'p0.1': number; min: number; rms: number; rms_err: number };
    same_top: number; same_top_err: number;
}
export interface McResult {
    command: 'mc'; task: string; n: number; acc: number; acc_stderr: number; acc_norm: number; acc_norm_stderr: number;
    chance: number; n_acc: number; n_acc_norm: number;
    questions?: { line: number; label: number; pred: number; pred_norm: number; loglik: number[] }[];
}
/** Node only (the browser entry does not export it). Throws TritError (BAD_DATA, VOCAB_MISMATCH, ...) or an AbortError. */
export function evaluate(opts: EvaluatePplOptions): Promise<PplResult>;
export function evaluate(opts: EvaluateKldOptions): Promise<KldResult>;
export function evaluate(opts: EvaluateMcOptions): Promise<McResult>;
