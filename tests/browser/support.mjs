// Shared pieces of the browser journeys: launching Debian's Chromium through playwright-core,
// screenshots at two widths, axe-core checks, visible-focus checks, and the IdP's login form.
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const BASE = process.env.WHARF_URL ?? fail('WHARF_URL is not set');
export const STATE_DIR = process.env.JOURNEY_STATE_DIR ?? fail('JOURNEY_STATE_DIR is not set');
const SHOTS = process.env.SCREENSHOTS_DIR ?? fail('SCREENSHOTS_DIR is not set');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const WIDTHS = [['desktop', 1440, 900], ['phone', 390, 844]];
// Long enough for a grant against moto on a busy 2-core machine, short enough to fail.
export const LIVE_TIMEOUT = 45_000;

function fail(message) {
  throw new Error(`tests/browser: ${message}`);
}

export async function launch() {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/// A browser context for one person. Console errors (a CSP refusal, a script failure) and
/// uncaught exceptions on Wharf's pages fail the journey.
export async function person(browser, name, storageState) {
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    storageState,
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (error) => page.problems.push(`${name}: page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && page.url().startsWith(BASE)) {
      page.problems.push(`${name}: console error on ${page.url()}: ${message.text()}`);
    }
  });
  return { context, page };
}

export function assertNoProblems(...pages) {
  const problems = pages.flatMap((p) => p.problems);
  assert.deepEqual(problems, [], 'the pages logged errors');
}

/// Screenshots of the whole page at desktop and phone widths: NAME-desktop.png, NAME-phone.png.
export async function shoot(page, name) {
  for (const [label, width, height] of WIDTHS) {
    await page.setViewportSize({ width, height });
    await page.screenshot({ path: join(SHOTS, `${name}-${label}.png`), fullPage: true });
    if (page.url().startsWith(BASE)) {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name}: the page is ${overflow}px wider than a ${width}px screen`);
    }
  }
  await page.setViewportSize({ width: 1440, height: 900 });
  console.log(`screenshot ${name}`);
}

/// axe-core in the page: no serious or critical violation is allowed.
export async function axe(page, name) {
  const already = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!already) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ['violations'] }),
  );
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n    ')}`);
  assert.deepEqual(bad, [], `axe on ${name} (${page.url()})`);
  const minor = result.violations.filter((v) => v.impact !== 'serious' && v.impact !== 'critical');
  console.log(`axe ${name}: clean${minor.length ? ` (minor or moderate: ${minor.map((v) => v.id).join(', ')})` : ''}`);
}

/// Screenshot and axe, the two things every step of a journey does.
export async function step(page, name) {
  await axe(page, name);
  await shoot(page, name);
}

/// The focused element shows where it is: an outline or a box shadow, inside the viewport.
export async function assertVisibleFocus(page) {
  const focus = await page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return {
      what: `${el.tagName.toLowerCase()} "${(el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 40)}"`,
      outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
      shadow: style.boxShadow !== 'none',
      onScreen: box.width > 0 && box.height > 0 && box.bottom > 0 && box.right > 0 && box.left < innerWidth,
    };
  });
  assert.ok(focus, 'something has the keyboard focus');
  assert.ok(focus.outline || focus.shadow, `focus is visible on ${focus.what}`);
  assert.ok(focus.onScreen, `the focused ${focus.what} is on screen`);
  return focus.what;
}

/// Press Tab until the focused element matches `predicate` (run in the page), checking that
/// focus is visible at every stop. Returns the stops.
export async function tabTo(page, description, predicate, maxStops = 40) {
  const stops = [];
  for (let i = 0; i < maxStops; i += 1) {
    await page.keyboard.press('Tab');
    stops.push(await assertVisibleFocus(page));
    if (await page.evaluate(predicate)) return stops;
  }
  throw new Error(`Tab never reached ${description}; stops: ${stops.join(', ')}`);
}

/// Sign in through Wharf's sign-in link and the IdP's login form, landing back on Wharf.
export async function signInAtIdp(page, login, shotName) {
  await page.goto(`${BASE}/`);
  await page.getByRole('link', { name: 'Sign in', exact: true }).first().click();
  await page.waitForURL((url) => !url.href.startsWith(BASE));
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill(`${login}-pw`);
  if (shotName) await shoot(page, shotName);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.href.startsWith(BASE));
  await page.locator('.site-header').getByRole('button', { name: 'Sign out' }).waitFor();
}

/// The request's status as the live part of its page shows it.
export function statusBadge(page) {
  return page.locator('#request-status h2 .badge');
}
