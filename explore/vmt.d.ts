// Trace files imported as text (esbuild's text loader, see scripts/build-explore.mjs).
declare module '*.vmt' {
  const text: string;
  export default text;
}
