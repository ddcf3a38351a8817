// tabs.test.mjs -- opens the built book in Debian's headless Chromium, from a
// local HTTP server, and checks the language tabs: clicking Python in one tab
// group switches every group on the page, the choice is remembered on the
// next page, and with JavaScript off all six listings are readable.
// Saves a screenshot to build/book/screenshot.png.
//
// usage: node tests/browser/tabs.test.mjs   (from the repository root)

import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { readFile, readdir } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const HTML = 'build/book/html';
const SCREENSHOT = 'build/book/screenshot.png';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// No background traffic: this machine's network is closed.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TYPES = { '.html': 'text/html', '.css': 'text/css', '.js': 'text/javascript',
  '.svg': 'image/svg+xml', '.png': 'image/png' };

function fail(message) {
  throw new Error(message);
}

// A static file server for build/book/html on a port the kernel picks.
async function serve() {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    try {
      const body = await readFile(join(HTML, path === '/' ? 'index.html' : path));
      res.writeHead(200, { 'content-type': TYPES[extname(path)] || 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

// The chapter pages that have tab groups, in book order.
async function pagesWithTabs() {
  const names = (await readdir(HTML)).filter((n) => /^\d.*\.html$/.test(n)).sort();
  const found = [];
  for (const name of names) {
    if ((await readFile(join(HTML, name), 'utf8')).includes('class="tabs"')) found.push(name);
  }
  return found;
}

// For each tab group: the languages of its visible tabs.
function visibleTabs(page) {
  return page.$$eval('.tabs', (groups) => groups.map((g) =>
    [...g.querySelectorAll(':scope > .tab')]
      .filter((t) => t.offsetParent !== null)
      .map((t) => t.dataset.lang)));
}

async function expectEveryGroupShows(page, lang, when) {
  const groups = await visibleTabs(page);
  if (groups.length === 0) fail(`${when}: no tab groups on the page`);
  groups.forEach((visible, i) => {
    if (visible.length !== 1 || visible[0] !== lang) {
      fail(`${when}: tab group ${i + 1} shows [${visible}], want [${lang}]`);
    }
  });
  return groups.length;
}

async function main() {
  const pages = await pagesWithTabs();
  if (pages.length === 0) fail(`no page in ${HTML} has language tabs: run make book`);
  const server = await serve();
  const base = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));

    await page.goto(`${base}/${pages[0]}`);
    await page.waitForSelector('.tab-bar button');
    await expectEveryGroupShows(page, 'c', `${pages[0]} on first visit`);

    // Click Python in the LAST group; every group must switch.
    const last = page.locator('.tabs').last();
    await last.locator('.tab-bar button[data-lang="python"]').click();
    const n = await expectEveryGroupShows(page, 'python', `${pages[0]} after clicking Python`);
    const selected = await last.locator('button[aria-selected="true"]').textContent();
    if (selected !== 'Python') fail(`the selected button says ${selected}, want Python`);

    await page.locator('.tabs').first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: SCREENSHOT });

    // The choice is remembered on the next page (or the same page, reloaded).
    const next = pages[1] || pages[0];
    await page.goto(`${base}/${next}`);
    await page.waitForSelector('.tab-bar button');
    await expectEveryGroupShows(page, 'python', `${next}, visited after choosing Python`);
    if (errors.length) fail(`JavaScript errors: ${errors.join('; ')}`);

    // Without JavaScript, every listing is there to read.
    const plain = await browser.newContext({ javaScriptEnabled: false });
    const noJs = await plain.newPage();
    await noJs.goto(`${base}/${pages[0]}`);
    const shown = await visibleTabs(noJs);
    shown.forEach((visible, i) => {
      if (visible.length !== 6) fail(`JavaScript off: tab group ${i + 1} shows [${visible}], want all six`);
    });
    console.log(`browser test: ${n} tab groups on ${pages[0]} switched to Python; ` +
      `remembered on ${next}; all six readable without JavaScript; screenshot ${SCREENSHOT}`);
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => {
  console.error(`browser test: ${e.message}`);
  process.exit(1);
});
