import type { Manifest } from '../bundle/manifest.js';
import { type Descriptor, describeBytes } from './descriptor.js';
import { encodeJson, type ImageManifest } from './manifest.js';
import { ANNOTATION_CREATED, ANNOTATION_FILEPATH, ANNOTATION_TITLE, MODEL_ARTIFACT, MODEL_CONFIG, MODEL_LAYER, OCI_MANIFEST, type ModelLayerType } from './media-types.js';

const DOC = /(^|\/)(readme|license|licence|notice|copying|changelog)(\.[^/]*)?$|\.(md|rst|txt|pdf|html)$/i;
const CODE = /\.(py|ipynb|sh|js|mjs|ts|rs|go|c|cc|cpp|h|java|rb|wasm)$/i;
const WEIGHT_CONFIG = /\.(json|ya?ml|toml|ini|cfg|conf|proto|pbtxt)$/i;

/**
 * The ModelPack layer type of a model file: the ONNX model and anything binary are weights
 * (uncompressed, `.raw`), configuration beside them is weight.config, docs are doc and scripts code.
 */
export function layerTypeFor(path: string): ModelLayerType {
  if (/\.onnx(\.data)?$|\.(bin|safetensors|pt|pth|gguf|npy|npz|h5|pb|tflite|data)$/i.test(path)) return MODEL_LAYER.weight;
  if (DOC.test(path)) return MODEL_LAYER.doc;
  if (CODE.test(path)) return MODEL_LAYER.code;
  if (WEIGHT_CONFIG.test(path)) return MODEL_LAYER.weightConfig;
  return MODEL_LAYER.weight;
}

export function layerAnnotations(path: string): Record<string, string> {
  // The title is what oras (and other generic OCI clients) name the pulled file by.
  return { [ANNOTATION_FILEPATH]: path, [ANNOTATION_TITLE]: path };
}

/** The ModelPack config (config.md: descriptor, config, modelfs) of a bundle's model. */
export function modelConfig(manifest: Manifest, layers: readonly Descriptor[]): Buffer {
  return encodeJson({
    descriptor: {
      name: manifest.name,
      version: manifest.version,
      createdAt: manifest.createdAt,
      sourceURL: manifest.source.uri,
    },
    config: {
      format: manifest.framework.format,
      ...(manifest.framework.producer ? { architecture: `${manifest.framework.producer.name} ${manifest.framework.producer.version}`.trim() } : {}),
    },
    // Raw layers are uncompressed, so each layer's diffId is its digest.
    modelfs: { type: 'layers', diffIds: layers.map((l) => l.digest) },
  });
}

export function modelManifest(manifest: Manifest, config: Descriptor, layers: readonly Descriptor[]): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: MODEL_ARTIFACT,
    config,
    layers,
    annotations: { [ANNOTATION_CREATED]: manifest.createdAt, 'org.opencontainers.image.title': manifest.name, 'org.opencontainers.image.version': manifest.version },
  };
}

export function configDescriptor(bytes: Buffer): Descriptor {
  return describeBytes(MODEL_CONFIG, bytes);
}
