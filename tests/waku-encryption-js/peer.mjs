// A stdin/stdout peer for the 26/WAKU2-PAYLOAD differential test
// (tests/tests/waku_encryption_interop.rs): one JSON request per line, one JSON response per
// line, bytes as lowercase hex. It drives @waku/message-encryption 0.0.27's own 26/ functions
// (preCipher, postCipher, encrypt/decrypt Asymmetric/Symmetric), the ones its encoders use.
import { createInterface } from "node:readline";

const encryption = await import(
  new URL("./node_modules/@waku/message-encryption/dist/encryption.js", import.meta.url)
);

const hex = (bytes) => Buffer.from(bytes).toString("hex");
const bytes = (text) => Uint8Array.from(Buffer.from(text, "hex"));

async function seal({ kind, payload, signer, recipient, key }) {
  const envelope = await encryption.preCipher(bytes(payload), bytes(signer));
  const sealed =
    kind === "asymmetric"
      ? await encryption.encryptAsymmetric(envelope, bytes(recipient))
      : await encryption.encryptSymmetric(envelope, bytes(key));
  return { sealed: hex(sealed) };
}

async function open({ kind, sealed, recipient, key }) {
  const envelope =
    kind === "asymmetric"
      ? await encryption.decryptAsymmetric(bytes(sealed), bytes(recipient))
      : await encryption.decryptSymmetric(bytes(sealed), bytes(key));
  const decoded = encryption.postCipher(envelope);
  if (!decoded) throw new Error("postCipher refused the envelope");
  return { payload: hex(decoded.payload), signer: decoded.sig ? hex(decoded.sig.publicKey) : null };
}

const ops = { seal, open };
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const request = JSON.parse(line);
  if (request.op === "exit") process.exit(0);
  let response;
  try {
    response = { id: request.id, ok: true, ...(await ops[request.op](request)) };
  } catch (error) {
    response = { id: request.id, ok: false, error: String(error) };
  }
  process.stdout.write(JSON.stringify(response) + "\n");
}
