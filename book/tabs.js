// tabs.js -- turns each group of six listings into tabs (C | Python | Java |
// Node.js | Haskell | Ruby). The reader's choice applies to every group on
// the page and is remembered across pages. Without JavaScript, all six
// listings stay visible one after another, each under its language's name.
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
      group.querySelectorAll(':scope > .tab-bar > button').forEach(function (b) {
        var on = b.dataset.lang === lang;
        b.setAttribute('aria-selected', on ? 'true' : 'false');
        b.tabIndex = on ? 0 : -1;
      });
    });
  }

  function build(group) {
    var bar = document.createElement('div');
    bar.className = 'tab-bar';
    bar.setAttribute('role', 'tablist');
    group.querySelectorAll(':scope > .tab').forEach(function (tab) {
      var label = tab.querySelector('.tab-label');
      var button = document.createElement('button');
      button.type = 'button';
      button.setAttribute('role', 'tab');
      button.dataset.lang = tab.dataset.lang;
      button.textContent = label ? label.textContent : tab.dataset.lang;
      button.addEventListener('click', function () {
        remember(tab.dataset.lang);
        show(tab.dataset.lang);
      });
      bar.appendChild(button);
    });
    group.insertBefore(bar, group.firstChild);
    group.classList.add('js-tabs');
  }

  document.addEventListener('DOMContentLoaded', function () {
    var groups = document.querySelectorAll('.tabs');
    groups.forEach(build);
    var first = groups.length ? groups[0].querySelector('.tab') : null;
    show(remembered() || (first ? first.dataset.lang : 'c'));
  });
})();
