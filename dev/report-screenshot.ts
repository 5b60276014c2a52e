/**
 * `npx tsx dev/report-screenshot.ts [REPORT] [PNG]`: a full-page screenshot of an `etl report`
 * page in headless Chromium (`CHROMIUM_PATH`, default Debian's /usr/bin/chromium), as the README's
 * docs/report.png was made from the report `npm start` writes:
 *
 *   npm start && npx tsx dev/report-screenshot.ts etl-report.html docs/report.png
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';

const [report = 'etl-report.html', png = 'docs/report.png'] = process.argv.slice(2);
const browser = await puppeteer.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  await page.goto(pathToFileURL(resolve(report)).href, { waitUntil: 'load' });
  await page.screenshot({ path: png as `${string}.png`, fullPage: true });
  process.stderr.write(`${png}\n`);
} finally {
  await browser.close();
}
