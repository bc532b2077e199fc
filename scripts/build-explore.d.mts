// Types of scripts/build-explore.mjs, for the tests that build the page.
export function buildExplore(opts?: { out?: string; check?: boolean }): Promise<string>;
