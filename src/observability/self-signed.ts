// @peculiar/x509 resolves its ASN.1 parsers through tsyringe, which needs the Reflect metadata polyfill first.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import {
  BasicConstraintsExtension,
  ExtendedKeyUsageExtension,
  SubjectAlternativeNameExtension,
  X509CertificateGenerator,
} from "@peculiar/x509";

export interface ServingCertificate {
  /** PEM. */
  readonly cert: string;
  /** PEM, PKCS #8. */
  readonly key: string;
}

const VALID_DAYS = 365;
const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/**
 * A self-signed serving certificate made at start, as controller-runtime makes one for its secure
 * metrics when no certificate is given: scrapers skip verification, or pin it.
 */
export async function selfSignedCertificate(hostnames: readonly string[]): Promise<ServingCertificate> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const notBefore = new Date(Date.now() - 60_000);
  const certificate = await X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString("hex"),
    name: `CN=${hostnames[0] ?? "eni-operator"}`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + VALID_DAYS * 86_400_000),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new BasicConstraintsExtension(false, undefined, true),
      new ExtendedKeyUsageExtension(["1.3.6.1.5.5.7.3.1"]), // serverAuth
      new SubjectAlternativeNameExtension(hostnames.map((value) => ({ type: "dns" as const, value }))),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)).toString("base64");
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)?.join("\n") ?? ""}\n-----END PRIVATE KEY-----\n`;
  return { cert: certificate.toString("pem"), key };
}
