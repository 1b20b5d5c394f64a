/**
 * A throwaway certificate authority and server certificate for 127.0.0.1/localhost, made with
 * openssl for TLS tests.
 * @module
 */

/** PEM files written to `dir`, and their contents. */
export interface TestCertificates {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * Makes a CA and a server certificate signed by it in `dir`, for the names in `san` (localhost
 * and 127.0.0.1 unless said otherwise).
 */
export async function makeCertificates(
  dir: string,
  san = "DNS:localhost,IP:127.0.0.1",
): Promise<TestCertificates> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await openssl(
    dir,
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=labchat test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  );
  await openssl(
    dir,
    "req",
    ...ec,
    "-keyout",
    "key.pem",
    "-out",
    "server.csr",
    "-subj",
    "/CN=localhost",
  );
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`,
  );
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "cert.pem",
    "-days",
    "2",
    "-extfile",
    "server.ext",
  );
  const read = (name: string) => Deno.readTextFile(`${dir}/${name}`);
  return {
    caFile: `${dir}/ca.pem`,
    certFile: `${dir}/cert.pem`,
    keyFile: `${dir}/key.pem`,
    ca: await read("ca.pem"),
    cert: await read("cert.pem"),
    key: await read("key.pem"),
  };
}
