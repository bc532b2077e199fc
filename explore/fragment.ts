// The page's state in the URL fragment, so a link reproduces a view:
// `#z=` + base64url of the deflate-raw'd JSON of ViewState. Nothing leaves
// the browser (a fragment is never sent to a server); `vmtree explore`
// writes the same encoding with Node's zlib.

export type { ViewState } from '../src/explore/view.js';
import type { ViewState } from '../src/explore/view.js';

const toB64url = (bytes: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

const fromB64url = (s: string): Uint8Array => {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
};

async function pipe(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const out = new Response(new Blob([bytes as BlobPart]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

export async function encodeState(s: ViewState): Promise<string> {
  const json = new TextEncoder().encode(JSON.stringify(s));
  return `z=${toB64url(await pipe(json, new CompressionStream('deflate-raw')))}`;
}

/** The state in a fragment (without '#'), or null if there is none; throws on a damaged one. */
export async function decodeState(fragment: string): Promise<Partial<ViewState> | null> {
  if (!fragment.startsWith('z=')) return null;
  const bytes = await pipe(fromB64url(fragment.slice(2)), new DecompressionStream('deflate-raw'));
  const v = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  if (typeof v !== 'object' || v === null) throw new Error('not a saved view');
  return v as Partial<ViewState>;
}
