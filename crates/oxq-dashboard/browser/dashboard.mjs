// The dashboard in a real headless browser: playwright-core drives Debian's chromium through
// the pages a person uses. Run by crates/oxq-dashboard/tests/browser.rs, which starts the
// dashboard over a real store, seeds the jobs and runs a worker; this script only clicks.
//
// Environment:
//   DASHBOARD_URL     the dashboard (token-guarded, with actions)
//   DASHBOARD_TOKEN   its token, typed into the login form
//   READ_ONLY_URL     the same store behind a read-only dashboard that hides data (no auth)
//   FAILED_JOB        the id of the failed job in queue QUEUE; FAILURE its error
//   DEAD_QUEUE        QUEUE's dead letter queue, holding the failed job's dead copy
//   QUEUE             the queue holding it
//   SEARCH_TEXT       a text in that job's data
//   SCREENSHOTS       where the screenshots go
//   CHROMIUM          the browser binary (/usr/bin/chromium)
// Exits 0 when every step passed; otherwise prints the step that failed and exits 1.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

const url = need('DASHBOARD_URL');
const token = need('DASHBOARD_TOKEN');
const readOnlyUrl = need('READ_ONLY_URL');
const queue = need('QUEUE');
const failedJob = need('FAILED_JOB');
const deadQueue = need('DEAD_QUEUE');
const failure = need('FAILURE');
const searchText = need('SEARCH_TEXT');
const shots = need('SCREENSHOTS');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
mkdirSync(shots, { recursive: true });

let step = 'launching chromium';
const browser = await chromium.launch({
  executablePath,
  // the test may run as root (CI containers), where chromium's sandbox cannot start
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const problems = [];
let page = null;
try {
  page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (error) => problems.push(`script error: ${error.message}`));
  page.on('console', (message) => {
    // HTTP error statuses (the wrong token's 401, an API the store lacks) are the page's to
    // show; anything else logged as an error (a script error, a blocked load) is a failure
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(`console error: ${message.text()}`);
    }
  });
  const shot = (name) => page.screenshot({ path: join(shots, name), fullPage: true });

  step = 'the login form refuses a wrong token';
  await page.goto(url);
  await page.locator('#token').fill('not-the-token');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('.error', { hasText: 'not the dashboard' }).waitFor();
  await shot('01-login-refused.png');

  step = 'logging in with the token';
  await page.locator('#token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();

  step = 'the queues page lists the queue with its counts and chart';
  const row = page.locator(`#queues tr[data-queue="${queue}"]`);
  await row.waitFor();
  await row.locator('a[data-count="failed"]', { hasText: /^1$/ }).waitFor();
  await row.locator('svg.chart rect.failed').first().waitFor();
  await row.locator('svg.chart rect.completed').first().waitFor();
  await shot('02-queues.png');

  step = 'the failed jobs of the queue';
  await row.locator('a[data-count="failed"]').click();
  const jobRow = page.locator(`#jobs tr[data-job="${failedJob}"]`);
  await jobRow.waitFor();
  await jobRow.getByText(failure).waitFor();
  await shot('03-failed-jobs.png');

  step = 'the failed job\'s detail';
  await jobRow.getByRole('link', { name: failedJob, exact: true }).click();
  await page.locator('#job-state[data-state="failed"]').waitFor();
  await page.locator('#failed-reason', { hasText: failure }).waitFor();
  await page.locator('.attempt pre', { hasText: failure }).first().waitFor();
  await page.locator('#logs', { hasText: 'trying' }).waitFor();
  await shot('04-failed-job.png');

  step = 'retrying the job by clicking Retry, until the worker completes it';
  await page.getByRole('button', { name: 'Retry', exact: true }).click();
  // the page reloads the job every few seconds while it is live
  await page.locator('#job-state[data-state="completed"]').waitFor({ timeout: 30_000 });
  await page.getByRole('heading', { name: 'Return value' }).waitFor();
  await shot('05-completed-job.png');

  step = 'searching by a text in the data';
  await page.locator('#search-kind').selectOption('text');
  await page.locator('#search-input').fill(searchText);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.locator('#found a.job-link', { hasText: failedJob }).waitFor();
  await page.locator('#search-extent', { hasText: '(every job)' }).waitFor();
  await shot('06-search-by-data.png');

  step = 'searching by id';
  await page.locator('#search-kind').selectOption('id');
  await page.locator('#search-input').fill(failedJob);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.locator('#found a.job-link', { hasText: failedJob }).waitFor();

  step = 'the dead letter view: replaying the dead copy by clicking Replay';
  await page.goto(`${url}#/queues/${encodeURIComponent(deadQueue)}/dead-letters`);
  const deadRow = page.locator('#dead-letters tbody tr', { hasText: `${queue} / ${failedJob}` });
  await deadRow.waitFor();
  await deadRow.getByText(failure).waitFor();
  await deadRow.getByRole('button', { name: 'Replay', exact: true }).click();
  await page.locator('#flash', { hasText: 'Replay: done' }).waitFor();
  await deadRow.getByText('1, last as').waitFor();
  await shot('07-dead-letters.png');

  step = 'a read-only dashboard that hides data shows no action and no data';
  const readOnly = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  readOnly.setDefaultTimeout(20_000);
  readOnly.on('pageerror', (error) => problems.push(`read-only page script error: ${error.message}`));
  await readOnly.goto(`${readOnlyUrl}#/queues/${encodeURIComponent(queue)}/jobs/${encodeURIComponent(failedJob)}`);
  await readOnly.locator('#job-state[data-state="completed"]').waitFor();
  await readOnly.locator('#read-only').waitFor();
  await readOnly.getByText('hidden on this dashboard').first().waitFor();
  const buttons = await readOnly.locator('main button').count();
  if (buttons !== 0) throw new Error(`${buttons} buttons on a read-only job page`);
  if (await readOnly.locator('#search-kind option[value="text"]').count() !== 0) {
    throw new Error('the search by data is offered although data is hidden');
  }
  await readOnly.goto(readOnlyUrl);
  await readOnly.locator(`#queues tr[data-queue="${queue}"]`).waitFor();
  if (await readOnly.locator('main button').count() !== 0) throw new Error('buttons on a read-only queues page');
  await readOnly.screenshot({ path: join(shots, '08-read-only.png'), fullPage: true });

  step = 'no script or console errors';
  if (problems.length > 0) throw new Error(problems.join('\n'));
} catch (error) {
  console.error(`FAILED at step: ${step}\n${error.stack || error}`);
  if (problems.length > 0) console.error(`page problems:\n${problems.join('\n')}`);
  if (page) {
    // what the page showed when the step failed
    await page.screenshot({ path: join(shots, 'failed-step.png'), fullPage: true }).catch(() => {});
    console.error(`page at ${page.url()}; screenshot ${join(shots, 'failed-step.png')}`);
  }
  await browser.close();
  process.exit(1);
}
await browser.close();
console.log('every browser step passed');
