// Wharf's journeys in a real browser (Debian's Chromium, npm playwright-core). Started by
// tests/tests/browser.rs, which starts the services, sets up the catalog, and checks what
// moto's Lake Formation holds between phases:
//
//   node tests/browser/journeys.mjs request-and-approve | revoke | demo
//
// Env: WHARF_URL, JOURNEY_STATE_DIR (cookies and the request's address between phases),
// SCREENSHOTS_DIR (NAME-desktop.png at 1440 px, NAME-phone.png at 390 px), CHROMIUM.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BASE, LIVE_TIMEOUT, STATE_DIR, assertNoProblems, assertVisibleFocus, launch, person,
  shoot, signInAtIdp, statusBadge, step, tabTo,
} from './support.mjs';

const saved = (name) => join(STATE_DIR, name);

// 1. The analyst signs in at the IdP, searches with a typo, narrows by a facet, opens the
//    product and asks for both tables for the analytics role, saying why.
// 2. The owner signs in, sees the inbox badge, opens the request and approves it; the
//    analyst's request page (left open, never reloaded) turns Granted by itself.
async function requestAndApprove(browser) {
  const ana = await person(browser, 'ana');
  await signInAtIdp(ana.page, 'ana', 'j1-01-idp-login');
  await step(ana.page, 'j1-02-catalog');

  const search = ana.page.getByRole('searchbox', { name: 'Search products, tables and columns' });
  await search.fill('custmer');
  const results = ana.page.locator('#results');
  await results.getByRole('link', { name: 'Customer Orders', exact: true }).waitFor();
  await results.getByRole('link', { name: 'Customer Invoices', exact: true }).waitFor();
  await step(ana.page, 'j1-03-search-typo');

  const domains = ana.page.locator('.facets section', { has: ana.page.getByRole('heading', { name: 'domain' }) });
  await domains.getByRole('link', { name: /Sales/ }).click();
  await ana.page.waitForURL(/domain=Sales/);
  await results.getByRole('link', { name: 'Customer Orders', exact: true }).waitFor();
  assert.equal(await results.getByRole('link', { name: 'Customer Invoices', exact: true }).count(), 0,
    'the Sales facet leaves out the Finance product');
  await step(ana.page, 'j1-04-facet-sales');

  await results.getByRole('link', { name: 'Customer Orders', exact: true }).first().click();
  await ana.page.getByRole('heading', { level: 1, name: 'Customer Orders' }).waitFor();
  await step(ana.page, 'j1-05-product');

  const form = ana.page.locator('form[action$="/request"]');
  const tables = form.getByRole('checkbox');
  assert.equal(await tables.count(), 2, 'both tables are offered');
  for (const box of await tables.all()) await box.check();
  await form.getByLabel('Role that gets access').selectOption({ label: `analytics: arn:aws:iam::123456789012:role/analytics` });
  await form.getByLabel('Why do you need it?').fill('Weekly revenue dashboard for the sales leads');
  await step(ana.page, 'j1-06-request-form');
  // Submit with the keyboard: focus the button and press Enter.
  await form.getByRole('button', { name: 'Request access' }).focus();
  await assertVisibleFocus(ana.page);
  await ana.page.keyboard.press('Enter');
  await ana.page.waitForURL(/\/requests\/[0-9a-f-]{36}$/);
  await statusBadge(ana.page).filter({ hasText: 'submitted' }).waitFor();
  const requestUrl = ana.page.url();
  await step(ana.page, 'j1-07-request-submitted');

  // From here on the analyst's page must change by itself: count navigations.
  let navigations = 0;
  ana.page.on('framenavigated', (frame) => { if (frame === ana.page.mainFrame()) navigations += 1; });

  const omar = await person(browser, 'omar');
  await signInAtIdp(omar.page, 'omar');
  // The badge reads as words to a screen reader, and shows the number.
  const inbox = omar.page.getByRole('link', { name: 'Requests (1 waiting for your decision)' });
  await inbox.waitFor();
  assert.equal((await inbox.locator('.badge-count').textContent()).trim(), '1', 'one request waits for the owner');
  await step(omar.page, 'j2-01-owner-badge');

  await omar.page.locator('.site-header').getByRole('link', { name: /Requests/ }).click();
  await omar.page.getByRole('heading', { name: 'Waiting for your decision' }).waitFor();
  await step(omar.page, 'j2-02-inbox');
  await omar.page.getByRole('link', { name: /Ana Analyst → Customer Orders/ }).click();
  await omar.page.waitForURL(requestUrl);
  await step(omar.page, 'j2-03-request-to-decide');

  await omar.page.getByLabel('Comment (approve)').fill('Fine for the dashboard');
  await omar.page.getByRole('button', { name: 'Approve' }).click();
  await statusBadge(omar.page).filter({ hasText: 'granted' }).waitFor({ timeout: LIVE_TIMEOUT });
  await step(omar.page, 'j2-04-owner-sees-granted');

  await statusBadge(ana.page).filter({ hasText: 'granted' }).waitFor({ timeout: LIVE_TIMEOUT });
  // With the status, the actions and the history follow: Cancel gives way to Revoke.
  await ana.page.getByRole('button', { name: 'Revoke' }).waitFor();
  assert.equal(await ana.page.getByRole('button', { name: 'Cancel' }).count(), 0, 'a granted request cannot be cancelled');
  await ana.page.locator('.timeline').getByText(/Omar .*: approved/).first().waitFor();
  assert.equal(navigations, 0, "the analyst's page updated itself, without a reload");
  await step(ana.page, 'j2-05-analyst-sees-granted');

  // The product's access timeline now has a week with one request holding access.
  await omar.page.getByRole('link', { name: 'Customer Orders' }).click();
  const timeline = omar.page.locator('.timeline-chart figure');
  await timeline.getByText('1 request in the last 12 weeks; 1 holding access this week.').first().waitFor();
  assert.equal(await timeline.getByRole('img', { name: 'Access over the last weeks' }).count(), 1);
  await step(omar.page, 'j2-06-product-timeline');

  // Re-sync with Glue: the button says it is working, and the outcome shows once after.
  await omar.page.getByRole('button', { name: 'Re-sync with Glue' }).click();
  await omar.page.getByRole('status').filter({ hasText: 'Re-sync done: the tables match their catalog.' }).waitFor();
  await step(omar.page, 'j2-07-resynced');
  await omar.page.reload();
  await omar.page.getByRole('heading', { level: 1, name: 'Customer Orders' }).waitFor();
  assert.equal(await omar.page.getByText('Re-sync done').count(), 0, 'a flash shows once');

  assertNoProblems(ana.page, omar.page);
  await omar.context.storageState({ path: saved('omar.json') });
  await ana.context.storageState({ path: saved('ana.json') });
  writeFileSync(saved('request-url'), requestUrl);
}

// 3. The owner revokes; the page shows Revoked once the grants are gone.
async function revoke(browser) {
  const requestUrl = readFileSync(saved('request-url'), 'utf8');
  const omar = await person(browser, 'omar', saved('omar.json'));
  await omar.page.goto(requestUrl);
  await statusBadge(omar.page).filter({ hasText: 'granted' }).waitFor();
  await omar.page.getByRole('button', { name: 'Revoke' }).click();
  await statusBadge(omar.page).filter({ hasText: 'revoked' }).waitFor({ timeout: LIVE_TIMEOUT });
  await step(omar.page, 'j3-01-revoked');

  const ana = await person(browser, 'ana', saved('ana.json'));
  await ana.page.goto(`${BASE}/requests`);
  await ana.page.getByRole('table', { name: 'Your requests' }).getByText('revoked').waitFor();
  await step(ana.page, 'j3-02-analyst-requests');
  assertNoProblems(omar.page, ana.page);
}

// 4. `wharf serve --demo` without an IdP: the development sign-in, by keyboard only.
async function demo(browser) {
  const { page } = await person(browser, 'visitor');
  await page.goto(`${BASE}/`);
  await page.getByRole('complementary', { name: 'Development sign-in' }).waitFor();
  await step(page, 'j4-01-welcome');

  const first = await tabTo(page, 'the skip link', () => document.activeElement.classList.contains('skip-link'), 1);
  assert.equal(first.length, 1, 'the first Tab stop is the skip link');
  await tabTo(page, 'the sign-in button', () => document.activeElement.textContent.trim() === 'Sign in to browse the catalog');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await step(page, 'j4-02-dev-sign-in');

  await tabTo(page, 'Ana', () => document.activeElement.textContent.trim() === 'Sign in as Ana Analyst');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Data catalog' }).waitFor();
  assert.match(await page.locator('.site-header').textContent(), /Ana Analyst/);
  const counts = await page.locator('main').textContent();
  assert.doesNotMatch(counts, /No data products yet/, 'the demo catalog has products');
  await step(page, 'j4-03-demo-catalog');

  await page.locator('#results .card h3 a').first().click();
  await page.getByRole('heading', { level: 2, name: 'Tables' }).waitFor();
  await step(page, 'j4-04-demo-product');

  await page.goto(`${BASE}/requests`);
  await step(page, 'j4-05-demo-requests');
  await page.goto(`${BASE}/account`);
  await step(page, 'j4-06-demo-account');
  await page.goto(`${BASE}/products/does-not-exist`);
  await page.getByRole('heading', { level: 1 }).waitFor();
  await step(page, 'j4-07-not-found');
  // Chromium reports the 404 itself in the console; that one is expected.
  page.problems = page.problems.filter((p) => !p.includes('status of 404'));
  assertNoProblems(page);
}

const phases = { 'request-and-approve': requestAndApprove, revoke, demo };
const phase = phases[process.argv[2]];
if (!phase) {
  console.error(`usage: journeys.mjs ${Object.keys(phases).join('|')}`);
  process.exit(2);
}
const browser = await launch();
try {
  await phase(browser);
  console.log(`phase ${process.argv[2]}: passed`);
} finally {
  await browser.close();
}
