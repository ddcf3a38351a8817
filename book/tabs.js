// tabs.js -- turns each group of six listings into tabs (C | Python | Java |
// Node.js | Haskell | Ruby), after the WAI-ARIA tabs pattern: a tablist of
// tabs, each controlling its tabpanel; only the selected tab is in the Tab
// order, and Left/Right (wrapping), Home and End move the choice along the
// row. The reader's choice applies to every group on the page and is
// remembered across pages. Without JavaScript, all six listings stay visible
// one after another, each under its language's name.
//
// It also opens the interop grid's folded cells for printing, and folds them
// again afterwards.
(function () {
  'use strict';
  var KEY = 'socketbook-language';

  function remembered() {
    try { return window.localStorage.getItem(KEY); } catch (e) { return null; }
  }

  function remember(lang) {
    try { window.localStorage.setItem(KEY, lang); } catch (e) { /* private mode: fine */ }
  }

  // Shows `lang` in every group that has it (a group without it keeps its choice).
  function show(lang) {
    document.querySelectorAll('.tabs.js-tabs').forEach(function (group) {
      var tabs = group.querySelectorAll(':scope > .tab');
      var has = Array.prototype.some.call(tabs, function (t) { return t.dataset.lang === lang; });
      if (!has) return;
      tabs.forEach(function (tab) {
        tab.hidden = tab.dataset.lang !== lang;
      });
      group.querySelectorAll(':scope > .tab-bar > [role="tab"]').forEach(function (b) {
        var on = b.dataset.lang === lang;
        b.setAttribute('aria-selected', on ? 'true' : 'false');
        b.tabIndex = on ? 0 : -1;
      });
    });
  }

  // The reader chose `lang` in `group`: every group follows, and the page is
  // scrolled so that `group` stays where it was on the screen (the groups
  // above it change height with the language).
  function choose(lang, group) {
    var before = group.getBoundingClientRect().top;
    remember(lang);
    show(lang);
    var moved = group.getBoundingClientRect().top - before;
    if (moved) window.scrollBy(0, moved);
  }

  // Left/Right step along the row (wrapping at the ends), Home and End jump
  // to the first and the last tab; the tab moved to is chosen and focused.
  function onKey(event, group) {
    var buttons = Array.prototype.slice.call(group.querySelectorAll(':scope > .tab-bar > [role="tab"]'));
    var at = buttons.indexOf(event.target);
    if (at < 0 || event.altKey || event.ctrlKey || event.metaKey) return;
    var to = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: buttons.length - 1 }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    var button = buttons[(to + buttons.length) % buttons.length];
    choose(button.dataset.lang, group);
    button.focus();
  }

  function build(group, n) {
    var bar = document.createElement('div');
    bar.className = 'tab-bar';
    bar.setAttribute('role', 'tablist');
    bar.setAttribute('aria-label', 'Language of the listing');
    group.querySelectorAll(':scope > .tab').forEach(function (tab) {
      var label = tab.querySelector('.tab-label');
      var button = document.createElement('button');
      button.type = 'button';
      button.id = 'tab-' + n + '-' + tab.dataset.lang;
      button.setAttribute('role', 'tab');
      button.dataset.lang = tab.dataset.lang;
      button.textContent = label ? label.textContent : tab.dataset.lang;
      if (!tab.id) tab.id = 'tabpanel-' + n + '-' + tab.dataset.lang;
      button.setAttribute('aria-controls', tab.id);
      tab.setAttribute('role', 'tabpanel');
      tab.setAttribute('aria-labelledby', button.id);
      tab.tabIndex = 0;
      button.addEventListener('click', function () { choose(tab.dataset.lang, group); });
      bar.appendChild(button);
    });
    bar.addEventListener('keydown', function (event) { onKey(event, group); });
    group.insertBefore(bar, group.firstChild);
    group.classList.add('js-tabs');
  }

  // A printed page cannot be clicked: the grid's folded cells print open.
  var opened = [];
  window.addEventListener('beforeprint', function () {
    opened = Array.prototype.filter.call(document.querySelectorAll('details.cell'),
      function (d) { return !d.open; });
    opened.forEach(function (d) { d.open = true; });
  });
  window.addEventListener('afterprint', function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });

  document.addEventListener('DOMContentLoaded', function () {
    var groups = document.querySelectorAll('.tabs');
    groups.forEach(build);
    var first = groups.length ? groups[0].querySelector('.tab') : null;
    show(remembered() || (first ? first.dataset.lang : 'c'));
  });
})();
