/**
 * jest's node environment runs each test file in its own VM context, with its own typed-array constructors. The
 * onnxruntime-node binding builds output tensors from the main realm's Float32Array and then checks them against
 * the test context's, and refuses them ("A float32 tensor's data must be type of function Float32Array()").
 * Sharing the main realm's typed-array constructors with the test context makes both the same, as in production.
 */
const { TestEnvironment } = require('jest-environment-node');

const TYPED_ARRAYS = [
  'Float32Array', 'Float64Array', 'Int8Array', 'Int16Array', 'Int32Array', 'Uint8Array', 'Uint8ClampedArray', 'Uint16Array', 'Uint32Array',
  'BigInt64Array', 'BigUint64Array',
];

class SharedTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED_ARRAYS) this.global[name] = globalThis[name];
  }
}

module.exports = SharedTypedArraysEnvironment;
