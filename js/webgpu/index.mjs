// index.mjs: the WebGPU backend's entry point (see forward.mjs for the engine, docs/webgpu.md).
export { WebGPUForward, fitsAdapter, planBuffers, isCpuAdapter } from './forward.mjs';
export { WebGPUError, getGPU, requestAdapter, requestDevice, describeAdapter } from './device.mjs';
export { describeModel } from './model.mjs';
export { MAXB } from './kernels.mjs';
