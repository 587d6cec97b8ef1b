/**
 * Media types of what modelship pushes. The model itself follows CNCF ModelPack
 * (modelpack/model-spec): an OCI image manifest whose artifactType and config name a model,
 * one unarchived (`.raw`) layer per model file. Everything else of a bundle is attached to that
 * manifest as a referrer (OCI 1.1 `subject`), each with an artifactType of its own.
 */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
/** The empty config `{}` referrer manifests carry (OCI 1.1 guidance for artifacts). */
export const EMPTY_JSON = Buffer.from('{}');

export const MODEL_ARTIFACT = 'application/vnd.cncf.model.manifest.v1+json';
export const MODEL_CONFIG = 'application/vnd.cncf.model.config.v1+json';

export const MODEL_LAYER = {
  weight: 'application/vnd.cncf.model.weight.v1.raw',
  weightConfig: 'application/vnd.cncf.model.weight.config.v1.raw',
  doc: 'application/vnd.cncf.model.doc.v1.raw',
  code: 'application/vnd.cncf.model.code.v1.raw',
  dataset: 'application/vnd.cncf.model.dataset.v1.raw',
} as const;
export type ModelLayerType = (typeof MODEL_LAYER)[keyof typeof MODEL_LAYER];
export const MODEL_LAYER_TYPES: ReadonlySet<string> = new Set(Object.values(MODEL_LAYER));

export const ANNOTATION_FILEPATH = 'org.cncf.model.filepath';
export const ANNOTATION_FILE_METADATA = 'org.cncf.model.file.metadata+json';
/** What `oras pull` names a file by. */
export const ANNOTATION_TITLE = 'org.opencontainers.image.title';
export const ANNOTATION_CREATED = 'org.opencontainers.image.created';
/** The tag an OCI layout's index.json gives a manifest. */
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
/** On attestation referrers: the in-toto predicate type inside the DSSE envelope. */
export const ANNOTATION_PREDICATE_TYPE = 'in-toto.io/predicate-type';

/**
 * The referrers of a modelship model manifest, one per bundle file besides the model files.
 * artifactType says what the referrer is (what `oras discover` lists); the layer media type says
 * how its one blob is encoded.
 */
export const BUNDLE_REFERRERS = {
  manifest: { artifactType: 'application/vnd.modelship.manifest.v1+yaml', layerType: 'application/yaml', title: 'model.yaml' },
  signature: { artifactType: 'application/vnd.modelship.signature.v1+jws', layerType: 'application/jose+json', title: 'model.jws' },
  provenance: { artifactType: 'application/vnd.modelship.attestation.provenance.v1+dsse', layerType: 'application/vnd.dsse.envelope.v1+json', title: 'provenance.dsse.json' },
  smoke: { artifactType: 'application/vnd.modelship.attestation.test-result.v1+dsse', layerType: 'application/vnd.dsse.envelope.v1+json', title: 'smoke.dsse.json' },
} as const;
export type BundlePart = keyof typeof BUNDLE_REFERRERS;
export const BUNDLE_PARTS = Object.keys(BUNDLE_REFERRERS) as BundlePart[];
