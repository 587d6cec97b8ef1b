/**
 * The sandbox engine as pinned: onnxruntime's own WebAssembly build (onnxruntime-web), always
 * the same version as onnxruntime-node, the native reference. The SHA-256 of the module and of
 * its emscripten loader, and the module's import list, are recorded here for that version;
 * the host checks all three before anything runs (engine-module.ts). Upgrading onnxruntime
 * means recording the new figures here (`node dist/scripts/engine-pin.js` prints them).
 */
export const ENGINE_VERSION = '1.30.0';

/** The SIMD build with threads (the only variant that compiles on Node 20 besides the JSEP/asyncify ones). */
export const ENGINE_WASM_FILE = 'ort-wasm-simd-threaded.wasm';
export const ENGINE_LOADER_FILE = 'ort-wasm-simd-threaded.mjs';

export const ENGINE_WASM_SHA256 = '3398c10d07d229bd91b364548e130e0e51a8e5704b88c7c083ebbeb78842dee2';
export const ENGINE_LOADER_SHA256 = 'e13f7f94fc51b4ca72b12faeb1ee95f4ace6dfbc8939bc718aabdc0a27c4299b';

/** The one import module of the build (emscripten minifies names). */
export const ENGINE_IMPORT_MODULE = 'a';
/** Its imported linear memory (shared, created by the loader: the host caps its maximum). */
export const ENGINE_MEMORY_IMPORT = 'a';
/** Every function the module imports, all provided by the pinned loader. */
export const ENGINE_FUNCTION_IMPORTS: readonly string[] = Object.freeze(
  (
    'b c d e f g h i j k l m n o p q r s t u v w x y z A B C D E F G H I J K L M N O P Q R S T U V W X Y Z _ $ ' +
    'aa ba ca da ea fa ga ha ia ja ka la ma na oa pa qa ra sa ta ua va wa xa ya za ' +
    'Aa Ba Ca Da Ea Fa Ga Ha Ia Ja Ka La Ma Na Oa Pa Qa Ra Sa Ta Ua'
  ).split(' '),
);
