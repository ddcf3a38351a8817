// tabs.test.mjs -- opens the built book in Debian's headless Chromium, from a
// local HTTP server, and checks that it reads well on any screen:
//
//   tabs_switch      clicking Python in one tab group switches every group
//   tabs_remembered  the choice holds on the next page
//   tabs_keys        the WAI-ARIA tabs pattern: roles, aria-selected, one tab
//                    in the Tab order, Left/Right (wrapping), Home, End
//   tabs_no_js       with JavaScript off, all six listings are readable
//   page_width       no page of build/book/html scrolls sideways, 1400 and 400
//                    px wide (document.documentElement.scrollWidth <= innerWidth);
//                    a deliberately too-wide page must fail the same measure
//   tab_row          a group's tabs (six, or its data-langs) sit in one row, scrolling if they must
//   nav_collapse     400 px wide, the chapter list is folded away behind a
//                    button that opens it; 1400 px wide it is simply there
//   grid_details     an interop grid cell's failure details open on a click,
//                    and stand open, unclicked, in the EPUB's chapter
//
// Every check runs; the failures are listed together at the end. Screenshots
// of every page at both widths go to build/book/screenshots/<page>-<width>.png,
// with <page>-<width>-tabs.png at its first tab group and -table.png at its
// first table too wide for the window; nav-open-400.png and
// grid-details-400.png show the chapter list and a grid cell opened.
//
// usage: node tests/browser/tabs.test.mjs   (from the repository root)
//   BOOK=dir reads dir/html and dir/socket-book.epub instead of build/book;
//   CHROMIUM=path runs another browser than /usr/bin/chromium.
// Chromium's profile is a fresh folder under $TMPDIR, removed when it closes.

import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { inflateRawSync } from 'node:zlib';

const BOOK = process.env.BOOK || 'build/book';
const HTML = join(BOOK, 'html');
const EPUB = join(BOOK, 'socket-book.epub');
const SCREENSHOTS = join(BOOK, 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const WIDE = 1400;
const NARROW = 400;
// No background traffic: this machine's network is closed.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TYPES = { '.html': 'text/html', '.xhtml': 'application/xhtml+xml', '.css': 'text/css',
  '.js': 'text/javascript', '.svg': 'image/svg+xml', '.png': 'image/png' };

// ---- plumbing ----------------------------------------------------------------

// The files of a zip archive (the EPUB), by name: its central directory read
// by hand, stored or deflated entries only (all that pandoc writes).
function unzip(buf) {
  const end = buf.lastIndexOf(Buffer.from('PK\x05\x06', 'latin1'));
  if (end < 0) throw new Error('not a zip file (no end of central directory)');
  const files = new Map();
  let p = buf.readUInt32LE(end + 16);
  for (let i = buf.readUInt16LE(end + 10); i > 0; i--) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`bad central directory entry at ${p}`);
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + size);
    if (method !== 0 && method !== 8) throw new Error(`${name}: compression method ${method}`);
    files.set(name, method === 0 ? data : inflateRawSync(data));
    p += 46 + nameLen + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
  }
  return files;
}

// A static file server on a port the kernel picks: build/book/html at /, the
// EPUB's files at /epub/.
async function serve(epub) {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const type = TYPES[extname(path)] || 'application/octet-stream';
    try {
      const body = path.startsWith('/epub/') ? epub.get(path.slice('/epub/'.length))
        : await readFile(join(HTML, path === '/' ? 'index.html' : path));
      if (!body) throw new Error('not in the EPUB');
      res.writeHead(200, { 'content-type': type });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

async function pages() {
  return (await readdir(HTML)).filter((n) => n.endsWith('.html')).sort();
}

// The chapter pages that have tab groups, in book order.
async function pagesWithTabs() {
  const found = [];
  for (const name of (await pages()).filter((n) => /^\d/.test(n))) {
    if ((await readFile(join(HTML, name), 'utf8')).includes('class="tabs"')) found.push(name);
  }
  return found;
}

// Each check is a function that throws (with fail) or returns what it saw.
function fail(message) {
  throw new Error(message);
}

const results = [];
async function check(name, fn) {
  try {
    results.push({ name, ok: true, said: await fn() });
  } catch (e) {
    results.push({ name, ok: false, said: e.message });
  }
}

async function open(context, url) {
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.goto(url);
  await page.evaluate(() => document.fonts.ready);
  return page;
}

// ---- what the checks measure, in the page ------------------------------------

// For each tab group: the languages of its visible tabs.
function visibleTabs(page) {
  return page.$$eval('.tabs', (groups) => groups.map((g) =>
    [...g.querySelectorAll(':scope > .tab')]
      .filter((t) => t.checkVisibility())
      .map((t) => t.dataset.lang)));
}

// The languages each group has tabs for: all six, or the ones its
// data-langs names (an example not every language has, like chapter 6's).
function groupLangs(page) {
  return page.$$eval('.tabs', (groups) => groups.map((g) =>
    (g.dataset.langs || 'c,python,java,node,haskell,ruby').split(',')));
}

async function expectEveryGroupShows(page, lang, when) {
  const groups = await visibleTabs(page);
  const has = await groupLangs(page);
  if (groups.length === 0) fail(`${when}: no tab groups on the page`);
  groups.forEach((visible, i) => {
    if (!has[i].includes(lang)) {
      if (visible.length !== 1) fail(`${when}: tab group ${i + 1} (no ${lang}) shows [${visible}]`);
    } else if (visible.length !== 1 || visible[0] !== lang) {
      fail(`${when}: tab group ${i + 1} shows [${visible}], want [${lang}]`);
    }
  });
  return groups.length;
}

// How wide the page is, and if wider than the window, the elements that stick
// out while their parent does not (where the overflow starts), outside any box
// that scrolls or clips them.
function measureWidth() {
  const name = (el) => el.tagName.toLowerCase() + (el.id ? `#${el.id}` : '') +
    [...el.classList].map((c) => `.${c}`).join('');
  const out = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && (r.right > innerWidth + 0.5 || r.left < -0.5);
  };
  const culprits = [];
  if (document.documentElement.scrollWidth > innerWidth) {
    for (const el of document.body.querySelectorAll('*')) {
      if (!out(el) || (el.parentElement !== document.body && out(el.parentElement))) continue;
      let held = false;
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        if (getComputedStyle(a).overflowX !== 'visible') { held = true; break; }
      }
      if (held) continue;
      const r = el.getBoundingClientRect();
      const text = el.textContent.trim().replace(/\s+/g, ' ').slice(0, 40);
      culprits.push(`${name(el)} (${Math.round(r.left)}..${Math.round(r.right)} px) "${text}"`);
      if (culprits.length === 4) break;
    }
  }
  return { scrollWidth: document.documentElement.scrollWidth, innerWidth, culprits };
}

async function widthProblem(page, where) {
  const m = await page.evaluate(measureWidth);
  if (m.scrollWidth <= m.innerWidth) return null;
  return `${where}: ${m.scrollWidth} px wide in a ${m.innerWidth} px window` +
    (m.culprits.length ? `; sticking out: ${m.culprits.join(', ')}` : '');
}

// ---- the checks ----------------------------------------------------------------

async function main() {
  const all = await pages();
  const tabbed = await pagesWithTabs();
  if (tabbed.length === 0) fail(`no page in ${HTML} has language tabs: run make book`);
  const epub = unzip(await readFile(EPUB));
  await rm(SCREENSHOTS, { recursive: true, force: true });
  await mkdir(SCREENSHOTS, { recursive: true });
  const server = await serve(epub);
  const base = `http://127.0.0.1:${server.address().port}`;
  // launch() gives Chromium a fresh --user-data-dir under os.tmpdir() ($TMPDIR)
  // and removes it in close().
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  try {
    const context = await browser.newContext({ viewport: { width: WIDE, height: 900 } });
    const first = tabbed[0];
    const next = tabbed[1] || tabbed[0];

    await check('tabs_switch', async () => {
      const page = await open(context, `${base}/${first}`);
      await page.waitForSelector('.tab-bar [role="tab"]');
      await expectEveryGroupShows(page, 'c', `${first} on first visit`);
      // Click Python in the LAST group; every group must switch.
      const last = page.locator('.tabs').last();
      await last.locator('.tab-bar [data-lang="python"]').click();
      const n = await expectEveryGroupShows(page, 'python', `${first} after clicking Python`);
      const selected = await last.locator('[aria-selected="true"]').textContent();
      if (selected !== 'Python') fail(`the selected tab says ${selected}, want Python`);
      if (page.errors.length) fail(`JavaScript errors: ${page.errors.join('; ')}`);
      await page.close();
      return `${n} tab groups on ${first} switched to Python`;
    });

    await check('tabs_remembered', async () => {
      const page = await open(context, `${base}/${next}`);
      await page.waitForSelector('.tab-bar [role="tab"]');
      await expectEveryGroupShows(page, 'python', `${next}, visited after choosing Python`);
      await page.close();
      return `Python still chosen on ${next}`;
    });

    await check('tabs_keys', async () => {
      const page = await open(context, `${base}/${first}`);
      await page.waitForSelector('.tab-bar [role="tab"]');
      const state = () => page.evaluate(() => [...document.querySelectorAll('.tabs')].map((g) => {
        const bar = g.querySelector(':scope > [role="tablist"]');
        const tabs = bar ? [...bar.querySelectorAll('[role="tab"]')] : [];
        return {
          bar: !!bar,
          label: bar && (bar.getAttribute('aria-label') || bar.getAttribute('aria-labelledby')),
          selected: tabs.filter((t) => t.getAttribute('aria-selected') === 'true').map((t) => t.dataset.lang),
          inTabOrder: tabs.filter((t) => t.tabIndex === 0).map((t) => t.dataset.lang),
          unselectedNotFalse: tabs.filter((t) => !['true', 'false'].includes(t.getAttribute('aria-selected'))).length,
          // The tabs whose panel is missing or not tied to them.
          unpaired: tabs.filter((t) => {
            const panel = document.getElementById(t.getAttribute('aria-controls'));
            return !(panel && panel.getAttribute('role') === 'tabpanel' &&
              panel.getAttribute('aria-labelledby') === t.id && panel.parentElement === g &&
              panel.hidden === (t.getAttribute('aria-selected') !== 'true'));
          }).map((t) => t.dataset.lang),
          focused: document.activeElement && bar && bar.contains(document.activeElement)
            ? document.activeElement.dataset.lang : null,
        };
      }));
      const expect = async (lang, when, group = 0) => {
        const groups = await state();
        groups.forEach((g, i) => {
          const where = `${when}: tab group ${i + 1}`;
          if (!g.bar) fail(`${where} has no role="tablist"`);
          if (!g.label) fail(`${where}: the tablist has no aria-label`);
          if (g.selected.join() !== lang) fail(`${where} has aria-selected on [${g.selected}], want ${lang}`);
          if (g.inTabOrder.join() !== lang) fail(`${where} has tabindex 0 on [${g.inTabOrder}], want only ${lang} (roving tabindex)`);
          if (g.unselectedNotFalse) fail(`${where}: ${g.unselectedNotFalse} tabs lack aria-selected="false"`);
          if (g.unpaired.length) {
            fail(`${where}: tabs [${g.unpaired}] have no tabpanel (aria-controls, role, aria-labelledby, hidden unless selected)`);
          }
        });
        if (groups[group].focused !== lang) fail(`${when}: focus is on ${groups[group].focused}, want ${lang}`);
      };
      const group = Math.min(1, (await page.locator('.tabs').count()) - 1);
      const tab = (lang) => page.locator('.tabs').nth(group).locator(`[role="tab"][data-lang="${lang}"]`);
      await tab('python').focus();
      await expect('python', 'focus on Python', group);
      const steps = [['ArrowRight', 'java'], ['ArrowRight', 'node'], ['ArrowLeft', 'java'],
        ['End', 'ruby'], ['ArrowRight', 'c'], ['ArrowLeft', 'ruby'], ['Home', 'c']];
      const top = () => page.locator('.tabs').nth(group).evaluate((g) => g.getBoundingClientRect().top);
      for (const [key, lang] of steps) {
        const before = await top();
        await page.keyboard.press(key);
        const moved = (await top()) - before;
        if (Math.abs(moved) > 1) fail(`${key} to ${lang}: the tab group moved ${moved} px on the screen, want it to stay`);
        await expect(lang, `${key} to ${lang}`, group);
        await expectEveryGroupShows(page, lang, `${key} to ${lang}`);
      }
      // Tab leaves the tab list (for the panel), not onto the next tab.
      await page.keyboard.press('Tab');
      const after = await page.evaluate(() => document.activeElement.closest('[role="tablist"]') === null);
      if (!after) fail('Tab from the selected tab moved to another tab, want out of the tab list');
      if (page.errors.length) fail(`JavaScript errors: ${page.errors.join('; ')}`);
      await page.close();
      return `Right, Left, Home, End (wrapping) on ${first}, every group follows, the group in use ` +
        'stays put on the screen, roving tabindex, each tab controls its tabpanel';
    });

    await check('tabs_no_js', async () => {
      const plain = await browser.newContext({ javaScriptEnabled: false, viewport: { width: NARROW, height: 900 } });
      const page = await open(plain, `${base}/${first}`);
      const shown = await visibleTabs(page);
      shown.forEach((visible, i) => {
        if (visible.length !== 6) fail(`JavaScript off: tab group ${i + 1} shows [${visible}], want all six`);
      });
      const problem = await widthProblem(page, `${first}, JavaScript off, ${NARROW} px`);
      if (problem) fail(problem);
      const nav = await page.locator('.sidebar ol').first().isVisible();
      if (!nav) fail(`JavaScript off, ${NARROW} px: the chapter list is hidden, want it readable`);
      await plain.close();
      return `${shown.length} groups on ${first} show all six, chapter list open, page fits ${NARROW} px`;
    });

    await check('page_width', async () => {
      const problems = [];
      const seen = [];
      for (const width of [WIDE, NARROW]) {
        const ctx = await browser.newContext({ viewport: { width, height: 900 } });
        for (const name of all) {
          const page = await open(ctx, `${base}/${name}`);
          const problem = await widthProblem(page, `${name} at ${width} px`);
          if (problem) problems.push(problem);
          const stem = name.replace(/\.html$/, '');
          await page.screenshot({ path: join(SCREENSHOTS, `${stem}-${width}.png`) });
          if (await page.locator('.tabs').count()) {
            await page.locator('.tabs').first().evaluate((g) => g.scrollIntoView());
            await page.screenshot({ path: join(SCREENSHOTS, `${stem}-${width}-tabs.png`) });
          }
          // The first table too wide for the window, in its scrolling box.
          const wide = await page.evaluate(() => {
            const box = [...document.querySelectorAll('.table-scroll')].find((b) => b.scrollWidth > b.clientWidth);
            if (box) box.scrollIntoView();
            return !!box;
          });
          if (wide) await page.screenshot({ path: join(SCREENSHOTS, `${stem}-${width}-table.png`) });
          seen.push(`${name}@${width}:${(await page.evaluate(measureWidth)).scrollWidth}`);
          await page.close();
        }
        // The measure must be able to fail: the same page with a box too wide
        // for the window in its text.
        const page = await open(ctx, `${base}/${first}`);
        await page.evaluate(() => {
          const p = document.createElement('p');
          p.style.width = `${innerWidth + 300}px`;
          p.textContent = 'deliberately too wide';
          document.querySelector('main').prepend(p);
        });
        if (!(await widthProblem(page, 'the broken page'))) {
          problems.push(`a page with a ${width + 300} px paragraph passed the width check at ${width} px`);
        }
        await page.close();
        await ctx.close();
      }
      if (problems.length) fail(problems.join('\n    '));
      return `${all.length} pages fit ${WIDE} and ${NARROW} px (scrollWidth ${seen.join(' ')}); ` +
        `a deliberately wide page fails; screenshots in ${SCREENSHOTS}/`;
    });

    await check('tab_row', async () => {
      const ctx = await browser.newContext({ viewport: { width: NARROW, height: 900 } });
      const problems = [];
      let groups = 0;
      for (const name of tabbed) {
        const page = await open(ctx, `${base}/${name}`);
        await page.waitForSelector('.tab-bar [role="tab"]');
        const bars = await page.$$eval('.tab-bar', (bars) => bars.map((bar) => {
          const tops = [...bar.querySelectorAll('[role="tab"]')].map((t) => Math.round(t.getBoundingClientRect().top));
          const style = getComputedStyle(bar);
          const langs = bar.closest('.tabs').dataset.langs;
          return { rows: new Set(tops).size, tabs: tops.length, fits: bar.scrollWidth <= bar.clientWidth,
            scrolls: ['auto', 'scroll'].includes(style.overflowX), want: langs ? langs.split(',').length : 6 };
        }));
        const which = (bad) => bars.map((b, i) => (bad(b) ? i + 1 : 0)).filter(Boolean);
        const say = (groups, what) => groups.length &&
          problems.push(`${name}: tab groups ${groups.join(', ')} of ${bars.length} ${what}`);
        say(which((b) => b.tabs !== b.want), 'do not have a tab for each of their languages');
        say(which((b) => b.rows !== 1), `take ${Math.max(...bars.map((b) => b.rows))} rows at ${NARROW} px`);
        say(which((b) => !b.fits && !b.scrolls), 'neither fit nor scroll');
        groups += bars.length;
        // The last tab is reachable (and clickable) in the narrow window.
        await page.locator('.tab-bar').first().locator('[data-lang="ruby"]').click();
        await expectEveryGroupShows(page, 'ruby', `${name} at ${NARROW} px, after clicking Ruby`);
        await page.locator('.tab-bar').first().locator('[data-lang="c"]').click();
        await page.close();
      }
      await ctx.close();
      if (problems.length) fail(problems.join('\n    '));
      return `${groups} tab groups on ${tabbed.length} pages in one row at ${NARROW} px, Ruby clickable`;
    });

    await check('nav_collapse', async () => {
      const said = [];
      for (const width of [NARROW, WIDE]) {
        const ctx = await browser.newContext({ viewport: { width, height: 900 } });
        const page = await open(ctx, `${base}/${first}`);
        const list = page.locator('.sidebar ol').first();
        const toggle = page.locator('.sidebar summary').first();
        if (width === WIDE) {
          if (!(await list.isVisible())) fail(`${width} px: the chapter list is hidden, want it shown`);
          if (await toggle.isVisible()) fail(`${width} px: the chapter list has a button to open it, want none`);
          said.push(`shown at ${width} px`);
        } else {
          if (await list.isVisible()) fail(`${width} px: the chapter list is open on arrival, want it folded`);
          if (!(await toggle.isVisible())) fail(`${width} px: no button to open the chapter list`);
          const height = await page.locator('.sidebar').evaluate((n) => n.getBoundingClientRect().height);
          await toggle.click();
          if (!(await list.isVisible())) fail(`${width} px: clicking "${await toggle.textContent()}" does not open the chapter list`);
          await page.screenshot({ path: join(SCREENSHOTS, `nav-open-${width}.png`) });
          await toggle.click();
          if (await list.isVisible()) fail(`${width} px: a second click does not fold the chapter list`);
          said.push(`folded to ${Math.round(height)} px at ${width} px, opens and closes on click`);
        }
        await ctx.close();
      }
      return `chapter list ${said.join('; ')}`;
    });

    await check('grid_details', async () => {
      const withGrid = [];
      for (const name of all.filter((n) => /^\d/.test(n))) {
        if ((await readFile(join(HTML, name), 'utf8')).includes('class="grid')) withGrid.push(name);
      }
      if (withGrid.length === 0) return 'SKIPPED: no page has an interop grid (no results.json when the book was built)';
      let cells = 0;
      let where = null;
      for (const name of withGrid) {
        const html = await readFile(join(HTML, name), 'utf8');
        if (/<td[^>]*\btitle=/.test(html)) fail(`${name}: a grid cell still keeps its details in a title= tooltip`);
        if (html.includes('<details class="cell"')) { where = where || name; }
      }
      if (!where) return `SKIPPED: every cell of the grids on ${withGrid.join(', ')} passed: no details to open`;
      // <details> opens by itself: JavaScript off.
      const ctx = await browser.newContext({ javaScriptEnabled: false, viewport: { width: NARROW, height: 900 } });
      const page = await open(ctx, `${base}/${where}`);
      const details = page.locator('table.grid details.cell');
      cells = await details.count();
      const one = details.first();
      const text = one.locator(':scope > :not(summary)').first();
      if (await text.isVisible()) fail(`${where}: a cell's details are open before any click`);
      await one.locator('summary').click();
      if (!(await text.isVisible())) fail(`${where}: clicking a cell does not show its details`);
      const said = (await text.textContent()).trim();
      if (!/\w+: (fail|unsupported|skip)/.test(said)) fail(`${where}: the opened details say "${said}", want "case: status"`);
      const problem = await widthProblem(page, `${where} at ${NARROW} px with a cell's details open`);
      if (problem) fail(problem);
      await one.evaluate((d) => d.closest('table').scrollIntoView());
      await page.screenshot({ path: join(SCREENSHOTS, `grid-details-${NARROW}.png`) });
      await ctx.close();

      // Printing (with JavaScript) opens every cell, and folds again those that were folded.
      const printing = await browser.newContext({ viewport: { width: WIDE, height: 900 } });
      const printed = await open(printing, `${base}/${where}`);
      await printed.locator('table.grid details.cell summary').first().click();
      const opens = () => printed.$$eval('details.cell', (all) => all.map((d) => d.open));
      await printed.evaluate(() => window.dispatchEvent(new Event('beforeprint')));
      if ((await opens()).includes(false)) fail(`${where}: printing leaves cells folded`);
      await printed.evaluate(() => window.dispatchEvent(new Event('afterprint')));
      const afterwards = await opens();
      if (!afterwards[0] || afterwards.slice(1).includes(true)) {
        fail(`${where}: after printing the cells are [${afterwards}], want only the first (clicked) open`);
      }
      await printing.close();

      // In the EPUB (Chromium standing in for a reader), the details stand open.
      const chapter = [...epub.keys()].find((n) => n.endsWith('.xhtml') &&
        epub.get(n).toString('utf8').includes('<details class="cell"'));
      if (!chapter) fail('no chapter of the EPUB has the grid cells\' details');
      const reader = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 600, height: 900 } });
      const book = await open(reader, `${base}/epub/${chapter}`);
      const hidden = await book.$$eval('details.cell', (all) =>
        all.filter((d) => ![...d.children].every((c) => c.checkVisibility())).length);
      const total = await book.locator('details.cell').count();
      if (hidden) fail(`${chapter} in the EPUB: ${hidden} of ${total} cells' details are folded, want them printed`);
      await reader.close();
      return `${cells} cells with details on ${where}: open on click without JavaScript ("${said}"), ` +
        `page still fits ${NARROW} px, all open for printing; all ${total} printed open in the EPUB's ${chapter}`;
    });
  } finally {
    await browser.close();
    server.close();
  }
}

main().then(() => {
  const failed = results.filter((r) => !r.ok);
  for (const r of results) {
    console[r.ok ? 'log' : 'error'](`browser test: ${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${r.said}`);
  }
  if (failed.length) {
    console.error(`browser test: ${failed.length} of ${results.length} checks failed`);
    process.exit(1);
  }
  console.log(`browser test: all ${results.length} checks passed`);
}, (e) => {
  console.error(`browser test: ${e.message}`);
  process.exit(1);
});
