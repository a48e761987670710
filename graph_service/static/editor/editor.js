// The query editor: YASGUI on our own /sparql, offline (local prefixes, no LOV lookups),
// the catalogue one click away, CSV/JSON downloads and a shareable link.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("editor-config").textContent);
  var Yasqe = Yasgui.Yasqe;
  // The property/class completers ask a remote service (LOV): keep them off.
  delete Yasqe.Autocompleters.property;
  delete Yasqe.Autocompleters["class"];
  Yasqe.defaults.autocompleters = ["prefixes", "variables"];
  Yasqe.defaults.prefixCcApi = config.prefixes;
  var start = config.query || (config.entries.length ? config.entries[0].query : "SELECT * WHERE { ?s ?p ?o } LIMIT 10");

  var yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: config.endpoint, method: "POST" },
    copyEndpointOnNewTab: false,
    persistenceId: null,
    populateFromUrl: false,
    autofocus: true,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: config.endpoint }]; } },
    yasqe: { prefixCcApi: config.prefixes, autocompleters: ["prefixes", "variables"], value: start,
             createShareableLink: null },
    yasr: { defaultPlugin: "table" }
  });
  var tab = yasgui.getTab();
  tab.setQuery(start);

  function currentQuery() { return tab.getQuery(); }
  function linkFor(params) {
    var url = new URL(config.endpoint, window.location.href);
    Object.keys(params).forEach(function (k) { url.searchParams.set(k, params[k]); });
    return url.toString();
  }
  function refreshLinks() {
    var query = currentQuery();
    document.getElementById("download-csv").href = linkFor({ query: query, format: "csv" });
    document.getElementById("download-json").href = linkFor({ query: query, format: "json" });
    document.getElementById("share-link").value = linkFor({ query: query });
  }
  tab.getYasqe().on("change", refreshLinks);
  yasgui.on("tabChange", refreshLinks);
  refreshLinks();

  document.querySelectorAll(".ready-query").forEach(function (button) {
    button.addEventListener("click", function () {
      var entry = config.entries.find(function (e) { return e.name === button.dataset.name; });
      if (!entry) { return; }
      tab.setQuery(entry.query);
      refreshLinks();
      tab.query();
    });
  });
  document.getElementById("copy-share-link").addEventListener("click", function () {
    var field = document.getElementById("share-link");
    field.select();
    if (navigator.clipboard) { navigator.clipboard.writeText(field.value).catch(function () {}); }
  });
  if (config.query) { tab.query(); }  // a shared link runs its query at once
  window.smartbyEditor = { yasgui: yasgui, refreshLinks: refreshLinks };
})();
