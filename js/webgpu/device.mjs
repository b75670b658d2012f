// device.mjs: finding a WebGPU adapter (browser, worker or Node) and the backend's error type.
//
// Browsers and workers: navigator.gpu. Node: the npm `webgpu` package (Dawn), when it is installed
// (a devDependency here; an optional peer for users). On Debian without a GPU, Dawn finds a Vulkan
// driver only when one is installed or pointed to: chromium ships SwiftShader's, so tests run Node with
//   LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
// (mk/webgpu.mk sets both; see docs/webgpu.md).

/** The backend's one error type: `code` is one of NO_WEBGPU, NO_ADAPTER, UNSUPPORTED, DOES_NOT_FIT,
 * DEVICE_LOST, GPU_ERROR, ARG, CTX_FULL, DESTROYED. */
export class WebGPUError extends Error {
    constructor(code, message, cause) {
        super(message, cause ? { cause } : undefined);
        this.name = 'TritError';
        this.code = code;
    }
}

export const fail = (code, msg, cause) => new WebGPUError(code, msg, cause);

const isNode = typeof process !== 'undefined' && !!(process.versions && process.versions.node);

let nodeGpu = null;

/** navigator.gpu, or in Node the `webgpu` package's GPU object; null when there is none. */
export async function getGPU() {
    if (typeof navigator !== 'undefined' && navigator.gpu) return navigator.gpu;
    if (!isNode) return null;
    if (nodeGpu) return nodeGpu;
    try {
        const mod = await import('webgpu');
        for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) globalThis[k] = v;
        nodeGpu = mod.create([]);
        return nodeGpu;
    } catch {
        return null;
    }
}

/** Text that names an adapter (vendor, architecture, device, description) for stats and benches. */
export function describeAdapter(adapter) {
    const i = adapter && adapter.info || {};
    const parts = [i.vendor, i.architecture, i.device, i.description].filter(Boolean);
    return parts.length ? [...new Set(parts)].join(' / ') : 'unknown adapter';
}

/** requestAdapter with the high-performance preference; null when there is none. */
export async function requestAdapter(gpu) {
    if (!gpu) gpu = await getGPU();
    if (!gpu) return null;
    try {
        return await gpu.requestAdapter({ powerPreference: 'high-performance' });
    } catch {
        return null;
    }
}

/** Device with the adapter's largest buffer limits and shader-f16 where present. */
export async function requestDevice(adapter) {
    const L = adapter.limits;
    const requiredLimits = {
        maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
        maxBufferSize: L.maxBufferSize,
        maxStorageBuffersPerShaderStage: Math.min(L.maxStorageBuffersPerShaderStage, 10),
        maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
    };
    const requiredFeatures = adapter.features.has('shader-f16') ? ['shader-f16'] : [];
    return adapter.requestDevice({ requiredLimits, requiredFeatures });
}
