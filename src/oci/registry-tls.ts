import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { RegistryTlsError } from '../errors/index.js';

/** The environment variable naming a PEM file of CA certificates trusted for registries, besides the system's. */
export const CA_FILE_ENV = 'MODELSHIP_REGISTRY_CA_FILE';

const contexts = new Map<string, SecureContext>();

/**
 * The TLS context for registry connections that trusts Node's own roots plus every certificate
 * in `caFile` (a registry behind a private CA, as `oras --ca-file` and Docker's certs.d allow).
 * Undefined without a file, so Node's defaults (NODE_EXTRA_CA_CERTS included) apply unchanged.
 * A file that cannot be read or holds no certificate is refused here, naming it, rather than
 * surfacing later as an untrusted certificate.
 *
 * Built once per file and process: given as `ca`, every new connection parsed the ~140 roots
 * again, 1.9 s of an 8 s push of 1 GiB.
 */
export function registryTlsContext(caFile: string | undefined): SecureContext | undefined {
  if (!caFile) return undefined;
  let context = contexts.get(caFile);
  if (!context) contexts.set(caFile, (context = createSecureContext({ ca: trustedCas(caFile) })));
  return context;
}

function trustedCas(caFile: string): string[] {
  let text: string;
  try {
    text = readFileSync(caFile, 'utf8');
  } catch (err) {
    throw new RegistryTlsError(`cannot read the registry CA file ${caFile} (${CA_FILE_ENV}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw new RegistryTlsError(`the registry CA file ${caFile} (${CA_FILE_ENV}) holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  for (const [i, pem] of pems.entries()) {
    try {
      new X509Certificate(pem);
    } catch (err) {
      throw new RegistryTlsError(`certificate ${i + 1} in the registry CA file ${caFile} (${CA_FILE_ENV}) does not parse: ${(err as Error).message}`);
    }
  }
  return [...rootCertificates, ...pems];
}

/** OpenSSL's and Node's codes for a certificate the client does not accept. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
]);
const OUTDATED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/**
 * The TLS problem behind a failed connection, as a non-retryable error with what to do, or
 * undefined when the failure is not about TLS (a refused connection stays retryable).
 */
export function tlsFailure(err: unknown, registry: string): RegistryTlsError | undefined {
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code ?? '';
  const detail = `${code}${e.message ? `: ${e.message}` : ''}`;
  if (UNTRUSTED.has(code)) {
    return new RegistryTlsError(
      `registry ${registry} presented a TLS certificate this host does not trust (${detail}). If a private CA signed it, set ${CA_FILE_ENV} to that CA's PEM file`,
      { cause: err },
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return new RegistryTlsError(`registry ${registry} presented a TLS certificate for another name (${detail})`, { cause: err });
  if (OUTDATED.has(code)) return new RegistryTlsError(`registry ${registry} presented a TLS certificate outside its validity period (${detail})`, { cause: err });
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(e.message ?? '')) {
    // OpenSSL's message runs to a source path and a newline: the code and reason are what helps.
    return new RegistryTlsError(
      `registry ${registry} does not answer TLS on that port (${code || 'TLS'}: wrong version number). If it is a plain-HTTP registry, use --plain-http or MODELSHIP_REGISTRY_PLAIN_HTTP=1`,
      { cause: err },
    );
  }
  return undefined;
}

/** What Go's net/http (distribution, Harbor, zot) answers a plain-HTTP request on a TLS port with. */
export function isPlainHttpToTlsPort(status: number, body: string): boolean {
  return status === 400 && body.includes('HTTP request to an HTTPS server');
}

export function plainHttpToTlsPortError(registry: string): RegistryTlsError {
  return new RegistryTlsError(
    `registry ${registry} speaks HTTPS on that port, and modelship spoke plain HTTP to it (the default for localhost, 127.x and ::1): set MODELSHIP_REGISTRY_PLAIN_HTTP=0`,
  );
}
