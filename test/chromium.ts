// Headless Chromium for the browser tests (test/browser.test.ts,
// test/explore.test.ts): Debian's package driven by playwright-core, no
// browser download. Kept apart from test/helpers.ts so that other tests do
// not load playwright.

import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's Chromium, which .ci/run installs (VMTREE_CHROMIUM overrides the path). */
export const CHROMIUM = process.env.VMTREE_CHROMIUM ?? '/usr/bin/chromium';

/** Whether it is there. */
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

/**
 * Headless Chromium on a fresh profile, with the flags this machine needs
 * (no background networking: its connections are refused here). Returns
 * the context and the profile directory to remove afterwards.
 */
export async function launchChromium(viewport: { width: number; height: number }): Promise<{ context: BrowserContext; profile: string }> {
  const profile = mkdtempSync(path.join(tmpdir(), 'vmtree-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport,
  });
  return { context, profile };
}
