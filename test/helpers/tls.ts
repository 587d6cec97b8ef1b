// Real certificates for TLS tests, made with the openssl CLI: a CA, and a server certificate it
// signs for 127.0.0.1 and localhost.
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface TestCa {
  /** The CA certificate (PEM): what a client trusts. */
  readonly caFile: string;
  /** A server certificate signed by the CA (for 127.0.0.1 and localhost unless told), and its key. */
  readonly certFile: string;
  readonly keyFile: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** `names`: the server certificate's subjectAltName entries (default: IP:127.0.0.1 and DNS:localhost). */
export async function makeTestCa(dir: string, name = 'modelship test CA', names = 'IP:127.0.0.1,DNS:localhost'): Promise<TestCa> {
  await mkdir(dir, { recursive: true });
  const [caKey, caFile, keyFile, csr, certFile, ext] = ['ca.key', 'ca.pem', 'server.key', 'server.csr', 'server.pem', 'server.ext'].map((f) => join(dir, f)) as [string, string, string, string, string, string];
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', `/CN=${name}`]);
  openssl(['req', ...ec, '-keyout', keyFile, '-out', csr, '-subj', '/CN=127.0.0.1']);
  await writeFile(ext, `subjectAltName=${names}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`);
  openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', certFile, '-days', '2', '-extfile', ext]);
  return { caFile, certFile, keyFile };
}
