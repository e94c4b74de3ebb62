// Headless Debian Chromium driven by playwright-core, for the tests a person would do in a browser.
// Without the package the tests that use it are skipped, with the reason.
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why browser tests cannot run here, or undefined when they can. */
export const browserMissing: string | undefined = existsSync(CHROMIUM)
  ? undefined
  : `${CHROMIUM} is missing (Debian package "chromium")`;

/** A playwright-core Browser (typed loosely: playwright-core's types are not part of the build). */
export async function launchChromium(): Promise<any> {
  const { chromium } = require('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
}
