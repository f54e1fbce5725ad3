// A POSIX ustar archive of the edited rules (a rules directory `layak`
// reads: `tar xf layak-rules.tar && layak eval --rules rules ...`).

function header(name, size) {
  const h = new Uint8Array(512);
  const put = (text, at, len) => h.set(new TextEncoder().encode(text).subarray(0, len), at);
  const octal = (n, len) => n.toString(8).padStart(len - 1, "0");
  put(name, 0, 100);
  put(`${octal(0o644, 8)}\0`, 100, 8);
  put(`${octal(0, 8)}\0`, 108, 8);
  put(`${octal(0, 8)}\0`, 116, 8);
  put(`${octal(size, 12)}\0`, 124, 12);
  put(`${octal(0, 12)}\0`, 136, 12);
  put("        ", 148, 8);
  put("0", 156, 1);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
  return h;
}

export function tarArchive(files) {
  const parts = [];
  for (const name of Object.keys(files).sort()) {
    const body = new TextEncoder().encode(files[name]);
    parts.push(header(name, body.length), body, new Uint8Array((512 - (body.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  return new Blob(parts);
}
