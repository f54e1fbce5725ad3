// The whole playground state in the URL fragment: JSON, deflated
// (CompressionStream, built into the browser), base64url. Nothing leaves
// the page: a fragment is never sent to a server.

const KEYS = ["files", "households", "asOf", "params", "lang", "selected", "tab"];

async function pipe(bytes, stream) {
  const out = new Response(new Blob([bytes]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

function toBase64Url(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

export async function encodeState(state) {
  const picked = Object.fromEntries(KEYS.map((k) => [k, state[k]]));
  const json = new TextEncoder().encode(JSON.stringify({ v: 1, ...picked }));
  return toBase64Url(await pipe(json, new CompressionStream("deflate-raw")));
}

export async function decodeState(fragment) {
  const json = new TextDecoder().decode(await pipe(fromBase64Url(fragment), new DecompressionStream("deflate-raw")));
  const s = JSON.parse(json);
  if (!s || s.v !== 1) throw new Error("unknown share-link version");
  const out = {};
  for (const k of KEYS) if (k in s) out[k] = s[k];
  if (typeof out.files !== "object" || !Array.isArray(out.households)) throw new Error("the link holds no rules or households");
  return out;
}
