// Credentials of a test cluster: a self-signed certificate made with the openssl CLI, a
// random bearer token, and a kubeconfig that client-node's KubeConfig.loadFromFile reads.

import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export interface TlsMaterial {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

/** An EC P-256 certificate for 127.0.0.1, valid one day, written as cert.pem/key.pem in `dir`. */
export async function generateSelfSignedCert(dir: string, host = "127.0.0.1"): Promise<TlsMaterial> {
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  const args = [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", `/CN=${host}`, "-addext", `subjectAltName=IP:${host}`, "-keyout", keyPath, "-out", certPath,
  ];
  try {
    await execFileAsync("openssl", args);
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(`could not create the test server certificate with openssl: ${detail.trim()}`, { cause: error });
  }
  const [cert, key] = await Promise.all([readFile(certPath, "utf8"), readFile(keyPath, "utf8")]);
  return { cert, key, certPath, keyPath };
}

export function randomToken(): string {
  return randomBytes(24).toString("hex");
}

export interface KubeconfigInput {
  server: string;
  caPem: string;
  token: string;
  /** Used as cluster, user and context name. */
  name?: string;
  namespace?: string;
}

/** Kubeconfig YAML; strings are written JSON-quoted, which YAML reads as they are. */
export function kubeconfigYaml(input: KubeconfigInput): string {
  const name = JSON.stringify(input.name ?? "turnout-test");
  const q = (value: string): string => JSON.stringify(value);
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: ${name}`,
    "  cluster:",
    `    server: ${q(input.server)}`,
    `    certificate-authority-data: ${q(Buffer.from(input.caPem).toString("base64"))}`,
    "users:",
    `- name: ${name}`,
    "  user:",
    `    token: ${q(input.token)}`,
    "contexts:",
    `- name: ${name}`,
    "  context:",
    `    cluster: ${name}`,
    `    user: ${name}`,
    `    namespace: ${q(input.namespace ?? "default")}`,
    `current-context: ${name}`,
    "",
  ].join("\n");
}

export async function writeKubeconfig(path: string, input: KubeconfigInput): Promise<void> {
  await writeFile(path, kubeconfigYaml(input), { mode: 0o600 });
}
